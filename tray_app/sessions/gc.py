"""GC and retention, a part of :class:`~tray_app.sessions.store.SessionStore` (one of its
bases; the state is the store's): the pass that aborts abandoned INPUT_REQUIRED sessions
and evicts finished ones past the retention bounds, in time that grows with the waiting
and the evicted sessions, not with the total."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import timedelta
from typing import TYPE_CHECKING

from tray_app.sessions.changes import ABANDONED_CODE, Change, Clock, GcReport, Observer, Retention
from tray_app.sessions.session import JsonDict, Session
from tray_app.sessions.states import SessionState

__all__ = ["StoreGc"]

_log = logging.getLogger("tray_app.sessions.store")


class StoreGc:
    """The store's GC pass and retention (its indexes are made by the store)."""

    _clock: Clock
    abandon_after: timedelta
    retention: Retention
    _sessions: dict[str, Session]
    _waiting: dict[str, Session]
    _finished: deque[Session]
    _observers: tuple[Observer, ...]
    _evictions: int

    if TYPE_CHECKING:

        def transition(
            self, session_id: str, new_state: SessionState, *, outcome: JsonDict | None = None
        ) -> Session: ...

        def _notify(self, session: Session, change: Change) -> None: ...

    def abandoned_older_than(self, age: timedelta) -> list[str]:
        """Ids of INPUT_REQUIRED sessions whose last heartbeat is older than ``age``."""
        threshold = self._clock() - age
        return [sid for sid, s in self._waiting.items() if s.last_heartbeat < threshold]

    def gc_once(self, abandon_after: timedelta | None = None) -> GcReport:
        """One GC pass: abort abandoned waiting sessions, evict past retention.

        Cost grows with waiting sessions plus evicted ones, not with the total.
        """
        age = self.abandon_after if abandon_after is None else abandon_after
        report = GcReport()
        evictions_before = self._evictions
        minutes = max(1, round(age.total_seconds() / 60))
        for session_id in self.abandoned_older_than(age):
            # An observer of an earlier abort may already have moved this one on.
            if session_id not in self._waiting:
                continue
            outcome = {
                "code": ABANDONED_CODE,
                "message": f"No client heartbeat for over {minutes} minutes; "
                "the session was abandoned.",
                # The seed's outcome key, kept for programs written against it.
                "reason": f"no client heartbeat for >{_duration(age)}",
            }
            self.transition(session_id, SessionState.ABORTED, outcome=outcome)
            report.abandoned.append(session_id)
            _log.info("GC aborted abandoned session %s", session_id)
        self._evict_over_count()
        self._evict_over_age()
        # Aborts above may already have evicted on close(); they count too.
        report.evicted = self._evictions - evictions_before
        return report

    async def gc_loop(
        self, interval_s: float = 300.0, *, interval_seconds: float | None = None
    ) -> None:
        """Run :meth:`gc_once` every ``interval_s`` (headless mode; the tray uses a QTimer).

        ``interval_seconds`` is the seed's name for the same thing.
        """
        if interval_seconds is not None:
            interval_s = interval_seconds
        while True:
            await asyncio.sleep(interval_s)
            self.gc_once()

    def _evict_over_count(self) -> None:
        limit = max(0, self.retention.max_finished)
        finished = self._finished
        while len(finished) > limit:
            self._evict(finished.popleft())

    def _evict_over_age(self) -> None:
        """Evict finished sessions older than the retention age, oldest first.

        ``_finished`` is in finish order, so this stops at the first one kept.
        """
        cutoff = self._clock() - self.retention.max_age
        finished = self._finished
        while finished:
            oldest = finished[0]
            if oldest.finished_at is None or oldest.finished_at >= cutoff:
                break
            self._evict(finished.popleft())

    def _evict(self, session: Session) -> None:
        """Forget a finished session the caller just took off ``_finished``."""
        # close() already ended the session's subscriptions and transition()
        # woke its waiters, so only the index and the observers are left.
        del self._sessions[session.session_id]
        self._evictions += 1
        if self._observers:
            self._notify(session, Change.EVICTED)


def _duration(age: timedelta) -> str:
    """``1h``, ``90min``, ``45s``: the seed's shorthand for the abandon age."""
    seconds = round(age.total_seconds())
    if seconds and seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds and seconds % 60 == 0:
        return f"{seconds // 60}min"
    return f"{seconds}s"
