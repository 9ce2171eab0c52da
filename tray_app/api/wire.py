"""JSON encoding for the wire: handles and frames hold datetimes and StrEnums.

Fan-out sends one frame object to many sockets, so :class:`FrameEncoder`
encodes each frame once and reuses the bytes for every subscriber.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import msgspec


def _fallback(value: Any) -> Any:
    # Paths and other odd values in outcomes must not turn a response into a 500.
    return str(value)


_encoder = msgspec.json.Encoder(enc_hook=_fallback)


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


class FrameEncoder:
    """Encodes frames, remembering the last few by identity.

    The cache holds a reference to each frame it remembers, so an ``id()``
    cannot be reused by another object while its entry is present. Frames are
    never mutated after publishing (see ``tray_app.sessions.frames``).
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._cache: OrderedDict[int, tuple[object, bytes]] = OrderedDict()

    def encode(self, frame: Any) -> bytes:
        """UTF-8 JSON of ``frame`` (sent as a WebSocket text message)."""
        key = id(frame)
        hit = self._cache.get(key)
        if hit is not None and hit[0] is frame:
            return hit[1]
        data = _encoder.encode(frame)
        self._cache[key] = (frame, data)
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return data
