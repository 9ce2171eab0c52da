"""A bounded, single-consumer stream of event frames.

The store pushes without ever waiting; a consumer that falls behind by more
than ``limit`` frames is cut off (``close_reason == "overflow"``) so that it
can never stall the store or the other subscribers.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Final

from tray_app.sessions.session import JsonDict

#: Close reasons, stable strings the API maps to WebSocket close codes.
OVERFLOW: Final = "overflow"
FINISHED: Final = "finished"
UNSUBSCRIBED: Final = "unsubscribed"
EVICTED: Final = "evicted"
SHUTDOWN: Final = "shutdown"


class Subscription:
    """Async iterator over frames; ends after a terminal frame or on close."""

    __slots__ = ("_detach", "_ending", "_frames", "_limit", "_waiter", "close_reason")

    def __init__(self, limit: int, detach: Callable[[Subscription], None]) -> None:
        self._frames: deque[JsonDict] = deque()
        self._limit = limit
        self._waiter: asyncio.Future[None] | None = None
        self._detach: Callable[[Subscription], None] | None = detach
        #: True once no further frames will be pushed (queue may still drain).
        self._ending = False
        self.close_reason: str | None = None

    # ---- producer side (the store) -------------------------------------
    def push(self, frame: JsonDict) -> bool:
        """Queue ``frame``. Returns False if this push overflowed the subscriber."""
        if self._ending:
            return True
        if len(self._frames) >= self._limit:
            self._frames.clear()
            self._end(OVERFLOW)
            return False
        self._frames.append(frame)
        if self._waiter is not None:  # inline of _wake(): this is the hot path
            self._wake()
        return True

    def finish(self, reason: str = FINISHED) -> None:
        """No more frames will come; the consumer still drains what is queued."""
        if not self._ending:
            self._end(reason)

    # ---- consumer side ---------------------------------------------------
    @property
    def closed(self) -> bool:
        """True when nothing more can be read."""
        return self._ending and not self._frames

    @property
    def pending(self) -> int:
        return len(self._frames)

    def close(self) -> None:
        """Unsubscribe. Frames still queued are dropped."""
        self._frames.clear()
        if not self._ending:
            self._end(UNSUBSCRIBED)

    def get_nowait(self) -> JsonDict | None:
        """The next queued frame, or None when none is queued."""
        return self._frames.popleft() if self._frames else None

    async def get(self) -> JsonDict | None:
        """The next frame, waiting for it; None once the stream has ended."""
        while not self._frames:
            if self._ending:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._frames.popleft()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> JsonDict:
        frame = await self.get()
        if frame is None:
            raise StopAsyncIteration
        return frame

    # ---- internals ---------------------------------------------------------
    def _end(self, reason: str) -> None:
        self._ending = True
        self.close_reason = reason
        detach, self._detach = self._detach, None
        if detach is not None:
            detach(self)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
