"""Putting back the sessions of an earlier run, a part of
:class:`~tray_app.sessions.store.SessionStore` (one of its bases; the state is the
store's). The journal reads them; the store takes them as they were, without walking
their states again."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

from tray_app.sessions.changes import Clock
from tray_app.sessions.session import Session
from tray_app.sessions.states import TERMINAL_STATES, SessionState

__all__ = ["StoreRestore"]


class StoreRestore:
    """The store's ``restore`` (its indexes are made by the store)."""

    _clock: Clock
    _sessions: dict[str, Session]
    _live: set[str]
    _waiting: dict[str, Session]
    _finished: deque[Session]

    if TYPE_CHECKING:

        def _evict_over_count(self) -> None: ...
        def _evict_over_age(self) -> None: ...

    def restore(self, sessions: Iterable[Session]) -> None:
        """Put back sessions of an earlier run (from the journal), as they were.

        Give them oldest first. Their states are taken as they are, not walked:
        no frames, no observers (nothing watched them in this process; the journal
        has them already). A waiting session is waiting again, its abandon clock
        running from its last heartbeat; a live one is live, for its owner to end
        or drive. Retention applies as after any close. An id already here raises.
        """
        finished = self._finished
        for session in sessions:
            session_id = session.session_id
            if session_id in self._sessions:
                raise ValueError(f"session {session_id} is already in the store")
            self._sessions[session_id] = session
            if session.state in TERMINAL_STATES:
                if session.finished_at is None:
                    session.finished_at = self._clock()
                _insert_finished(finished, session)
                continue
            self._live.add(session_id)
            if session.state is SessionState.INPUT_REQUIRED:
                self._waiting[session_id] = session
        self._evict_over_count()
        self._evict_over_age()


def _insert_finished(finished: deque[Session], session: Session) -> None:
    """Append in finish order (restored sessions may finish before ones already here)."""
    at = session.finished_at
    assert at is not None
    index = len(finished)
    while index and (finished[index - 1].finished_at or at) > at:
        index -= 1
    finished.insert(index, session)
