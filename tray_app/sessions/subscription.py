"""A bounded, single-consumer stream of event frames.

The store pushes without ever waiting; a consumer that falls behind by more
than ``limit`` frames is cut off (``close_reason == "overflow"``) so that it
can never stall the store or the other subscribers.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Final

from tray_app.sessions.session import JsonDict

_log = logging.getLogger("tray_app.sessions.store")

#: Close reasons, stable strings the API maps to WebSocket close codes.
OVERFLOW: Final = "overflow"
FINISHED: Final = "finished"
UNSUBSCRIBED: Final = "unsubscribed"
EVICTED: Final = "evicted"
SHUTDOWN: Final = "shutdown"


class Subscription:
    """Async iterator over frames; ends after a terminal frame or on close.

    The store appends to ``queue`` itself while ``len(queue) < room`` (the common
    case on its hot path) and calls :meth:`push` for everything else. ``room`` is
    ``limit`` while nobody waits in :meth:`get` and 0 while somebody does, so a
    single comparison also sends every push that must wake a reader to push().
    """

    __slots__ = (
        "_detach",
        "_ending",
        "close_reason",
        "limit",
        "queue",
        "room",
        "session_id",
        "waiter",
    )

    def __init__(
        self,
        limit: int,
        detach: Callable[[Subscription], None],
        session_id: str | None = None,
    ) -> None:
        self.queue: deque[JsonDict] = deque()
        self.limit = limit
        self.room = limit
        #: The session streamed, or None for the stream of all sessions.
        self.session_id = session_id
        #: The future a reader blocked in :meth:`get` waits on.
        self.waiter: asyncio.Future[None] | None = None
        self._detach: Callable[[Subscription], None] | None = detach
        #: True once no further frames will be pushed (queue may still drain).
        self._ending = False
        self.close_reason: str | None = None

    # ---- producer side (the store) -------------------------------------
    def push(self, frame: JsonDict) -> bool:
        """Queue ``frame``. Returns False if this push overflowed the subscriber."""
        if self._ending:
            return True
        if len(self.queue) >= self.limit:
            self.queue.clear()
            self._end(OVERFLOW)
            return False
        self.queue.append(frame)
        if self.waiter is not None:
            self._wake()
        return True

    def push_last(self, frame: JsonDict) -> bool:
        """Queue the stream's final frame and end it, without detaching: the store
        has already let go of this subscription. False if the push overflowed."""
        self._detach = None
        if not self.push(frame):
            return False
        self.finish()
        return True

    def finish(self, reason: str = FINISHED) -> None:
        """No more frames will come; the consumer still drains what is queued."""
        if not self._ending:
            self._end(reason)

    # ---- consumer side ---------------------------------------------------
    @property
    def closed(self) -> bool:
        """True when nothing more can be read."""
        return self._ending and not self.queue

    @property
    def pending(self) -> int:
        return len(self.queue)

    def close(self) -> None:
        """Unsubscribe. Frames still queued are dropped."""
        self.queue.clear()
        if not self._ending:
            self._end(UNSUBSCRIBED)

    def take_all(self) -> list[JsonDict]:
        """Every queued frame, oldest first, without waiting (maybe none)."""
        frames = list(self.queue)
        self.queue.clear()
        return frames

    def get_nowait(self) -> JsonDict | None:
        """The next queued frame, or None when none is queued."""
        queue = self.queue
        return queue.popleft() if queue else None

    async def get(self) -> JsonDict | None:
        """The next frame, waiting for it; None once the stream has ended."""
        while not self.queue:
            if self._ending:
                return None
            self.waiter = asyncio.get_running_loop().create_future()
            self.room = 0
            try:
                await self.waiter
            finally:
                self.waiter = None
                self.room = self.limit
        return self.queue.popleft()

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
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class QueueFeed(Subscription):
    """A subscription that puts each frame on a caller's ``asyncio.Queue`` instead
    of holding it: the seed's ``attach_event_queue``.

    ``room`` stays 0, so the store's fan-out hands every frame to :meth:`push`.
    A bounded queue that is full ends the feed (``overflow``), as a slow
    subscriber's stream ends.
    """

    __slots__ = ("target",)

    def __init__(
        self,
        target: asyncio.Queue[JsonDict],
        detach: Callable[[Subscription], None],
        session_id: str,
    ) -> None:
        super().__init__(1, detach, session_id)
        self.room = 0
        self.target = target

    def push(self, frame: JsonDict) -> bool:
        # No _ending check: an ended feed is detached, so the store never pushes to it.
        try:
            self.target.put_nowait(frame)
        except asyncio.QueueFull:
            self._end(OVERFLOW)
            return False
        return True


def fan_out(
    subscriptions: tuple[Subscription, ...], frame: JsonDict, session_id: str | None
) -> None:
    """Append ``frame`` to every subscription's queue, through push() when it is full or
    a reader waits (the store inlines this loop on its hottest path)."""
    for subscription in subscriptions:
        queue = subscription.queue
        # The common case inline; a full queue or a waiting reader goes through push().
        if len(queue) < subscription.room:
            queue.append(frame)
        elif not subscription.push(frame):
            _log.warning("dropped slow subscriber of %s", stream_name(session_id))


def stream_name(session_id: str | None) -> str:
    """How a log line names a stream."""
    return "all sessions" if session_id is None else f"session {session_id}"
