"""Subscriptions, a part of :class:`~tray_app.sessions.store.SessionStore` (one of its
bases; the state is the store's): a session's stream, the stream of all sessions, the
seed's attached event queue, and ending them all on shutdown. Publishing stays in the
store, on its hot path."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from tray_app.sessions import frames
from tray_app.sessions.changes import UnknownSession
from tray_app.sessions.session import JsonDict, Session, to_handle
from tray_app.sessions.subscription import SHUTDOWN, QueueFeed, Subscription

__all__ = ["StoreStreams"]


class StoreStreams:
    """The store's subscribers (per-session ones live on the session itself)."""

    _sessions: dict[str, Session]
    _queue_limit: int
    _global_subscribers: tuple[Subscription, ...]

    if TYPE_CHECKING:

        def _require(self, session_id: str) -> Session: ...

    def subscribe(self, session_id: str) -> Subscription:
        """Frames of one session: a snapshot first, then every later frame.

        On a finished session: the snapshot and its terminal frame, then the end.
        """
        session = self._sessions.get(session_id)
        if session is None:
            raise UnknownSession(session_id)
        subscription = Subscription(self._queue_limit, self._detach, session_id)
        queue = subscription.queue  # fresh and empty: no limit or reader to check
        queue.append(frames.snapshot(to_handle(session)))
        if session.finished_at is not None:
            queue.append(frames.terminal(session))
            subscription.finish()
            return subscription
        session.subscriptions = (*session.subscriptions, subscription)
        return subscription

    def snapshot_all(self) -> JsonDict:
        """The snapshot frame of every session, as :meth:`subscribe_all` sends it first."""
        return frames.snapshot_all([to_handle(s) for s in self._sessions.values()])

    def subscribe_all(self, snapshot: JsonDict | None = None) -> Subscription:
        """Frames of every session, each with ``session_id``; a snapshot of all first.

        ``snapshot``: a frame from :meth:`snapshot_all` taken since the last change,
        so that many subscribers arriving together share one (frames are never
        mutated once published).
        """
        subscription = Subscription(self._queue_limit, self._detach_global)
        subscription.push(snapshot if snapshot is not None else self.snapshot_all())
        self._global_subscribers = (*self._global_subscribers, subscription)
        return subscription

    def attach_event_queue(self, session_id: str, queue: asyncio.Queue[JsonDict]) -> None:
        """The seed's fan-out: every frame the session publishes from now on is put on
        ``queue``, its terminal frame last. One queue per session; attaching another
        replaces the first. Unknown ids raise UnknownSession (a ValueError).

        A subscriber like any other (see :class:`QueueFeed`), so the frames come
        from the same fan-out that feeds :meth:`subscribe`.
        """
        session = self._require(session_id)
        for subscription in session.subscriptions:
            if isinstance(subscription, QueueFeed):
                subscription.close()
        session.event_queue = queue
        if session.finished_at is None:
            feed = QueueFeed(queue, self._detach, session_id)
            session.subscriptions = (*session.subscriptions, feed)

    def subscriber_count(self, session_id: str | None = None) -> int:
        if session_id is None:
            return len(self._global_subscribers)
        session = self._sessions.get(session_id)
        return 0 if session is None else len(session.subscriptions)

    def close_all_subscriptions(self, reason: str = SHUTDOWN) -> None:
        """End every stream, e.g. on shutdown."""
        # Every session, not only live ones: a session moved to a terminal state
        # keeps its subscriptions until close(). Shutdown is the only caller.
        for session in list(self._sessions.values()):
            for subscription in session.subscriptions:
                subscription.finish(reason)
        for subscription in self._global_subscribers:
            subscription.finish(reason)

    def _detach(self, subscription: Subscription) -> None:
        session = self._sessions.get(subscription.session_id or "")
        if session is not None:  # after close() nothing holds the subscription
            session.subscriptions = tuple(s for s in session.subscriptions if s is not subscription)

    def _detach_global(self, subscription: Subscription) -> None:
        self._global_subscribers = tuple(
            s for s in self._global_subscribers if s is not subscription
        )
