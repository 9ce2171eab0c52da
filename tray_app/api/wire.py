"""JSON encoding for the wire, always through the types of :mod:`tray_app.api.schemas`.

The store hands out plain dicts (handles and frames holding datetimes and
StrEnums); they are converted to their wire type before encoding, so what
leaves the server is exactly what the OpenAPI document says. Fan-out sends
one frame object to many sockets, so :class:`FrameEncoder` converts and
encodes each frame once and reuses the bytes for every subscriber.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

import msgspec

from tray_app.api.schemas import Frame

_log = logging.getLogger(__name__)


def _fallback(value: Any) -> Any:
    # Paths and other odd values inside open outcome objects must not turn a response into a 500.
    return str(value)


_encoder = msgspec.json.Encoder(enc_hook=_fallback)


def encode(value: Any) -> bytes:
    """Encode a wire-typed value (a Struct, or builtins)."""
    return _encoder.encode(value)


def encode_as(value: Any, wire_type: Any) -> bytes:
    """Encode ``value`` (a dict from the store or controller) as ``wire_type``.

    Raises ``msgspec.ValidationError`` if it does not fit the type: that is a
    server bug, and the error middleware answers 500 rather than send a body
    that breaks the published contract.
    """
    return _encoder.encode(msgspec.convert(value, wire_type))


def encode_frame(frame: Any) -> bytes:
    """A frame as its wire type; a frame that does not fit is logged and sent as it is.

    A WebSocket stream has no error response to fall back on, and dropping
    the frame would lose a state change, so the contract bug is made loud
    in the log instead.
    """
    try:
        return encode_as(frame, Frame)
    except msgspec.ValidationError as error:
        _log.error("frame %r does not fit the wire schema: %s", frame.get("kind"), error)
        return _encoder.encode(frame)


class FrameEncoder:
    """Encodes frames, remembering the last few by identity.

    The cache holds a reference to each frame it remembers, so an ``id()``
    cannot be reused by another object while its entry is present. Frames are
    never mutated after publishing (see ``tray_app.sessions.frames``).
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._cache: OrderedDict[int, tuple[object, bytes]] = OrderedDict()
        self._snapshot: object = None
        self._snapshot_bytes = b""

    def encode(self, frame: Any) -> bytes:
        """UTF-8 JSON of ``frame`` (sent as a WebSocket text message)."""
        if frame.get("kind") == "snapshot":
            # The largest frame by far (every handle on /events). Subscribers that
            # arrive between two changes share one (see ApiRoutes.all_events), so
            # one slot keeps its bytes; more would only pin old snapshots.
            if frame is self._snapshot:
                return self._snapshot_bytes
            data = encode_frame(frame)
            self._snapshot, self._snapshot_bytes = frame, data
            return data
        key = id(frame)
        hit = self._cache.get(key)
        if hit is not None and hit[0] is frame:
            return hit[1]
        data = encode_frame(frame)
        self._cache[key] = (frame, data)
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return data
