"""The one bridge from store changes to Qt: every UI part (tray, sessions model, prompt and
details dialogs, notifier, quit coordinator) subscribes to ``StoreBridge.of(store).changed``.

The bridge is the store's only Qt observer. It gathers the changes of one loop turn
(heartbeats left out: no view shows them, and the prompt dialog sends one a minute) and
emits them once, on a single-shot 0 ms timer, so a burst costs every view one update and an
idle app has no timer at all.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from tray_app.sessions.session import Session
from tray_app.sessions.store import Change, SessionStore
from tray_app.ui.timers import make_timer

__all__ = ["StoreBridge", "StoreChanges"]

#: Changes that structure a list of sessions: rows come or go.
_STRUCTURE = frozenset({Change.OPENED, Change.EVICTED})
#: Changes of which only a session's last one in a turn is told: the session is read at
#: emission, in the state (with the progress) of its last change; told each time, the
#: earlier ones would all describe it so (four "needs input" events for one session
#: that went VALIDATING -> ... -> INPUT_REQUIRED within one turn).
_LAST_ONLY = frozenset({Change.STATE, Change.UPDATED})


@dataclass(frozen=True, slots=True)
class StoreChanges:
    """The store's changes of one loop turn, oldest first (never a heartbeat; of a
    session's state and update changes, only its last of the turn)."""

    events: tuple[tuple[Session, Change], ...]

    def __iter__(self) -> Iterator[tuple[Session, Change]]:
        return iter(self.events)

    @property
    def session_ids(self) -> frozenset[str]:
        return frozenset(session.session_id for session, _ in self.events)

    @property
    def structure(self) -> bool:
        """True when a session was opened or evicted (a list gains or loses a row)."""
        return any(change in _STRUCTURE for _, change in self.events)

    def touches(self, session_id: str) -> bool:
        return any(session.session_id == session_id for session, _ in self.events)


class StoreBridge(QObject):
    """One per store (:meth:`of`); emits ``changed(StoreChanges)`` at most once per loop turn."""

    changed = Signal(object)

    @classmethod
    def of(cls, store: SessionStore) -> StoreBridge:
        """The store's bridge, made on first use; it lives as long as the store."""
        bridge = _BRIDGES.get(store)
        if bridge is None:
            bridge = _BRIDGES[store] = cls(store)
        return bridge

    def __init__(self, store: SessionStore) -> None:
        super().__init__()
        # No reference to the store is kept: the store holds the bridge (as its
        # observer) and the registry holds it weakly, so both go together.
        # Insertion-ordered: a session's STATE or UPDATED change replaces its earlier one
        # of the turn and moves to the end, so a burst costs one entry per session.
        self._pending: dict[object, tuple[Session, Change]] = {}
        self._serial = itertools.count()
        self._timer = make_timer(self, self.flush)
        store.add_observer(self._on_change)

    def _on_change(self, session: Session, change: Change) -> None:
        if change is Change.HEARTBEAT:
            return
        pending = self._pending
        if change in _LAST_ONLY:
            key: object = (session.session_id, change)
            pending.pop(key, None)
        else:
            key = next(self._serial)
        pending[key] = (session, change)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Emit what has gathered now (normally the timer does, once per loop turn)."""
        self._timer.stop()
        if not self._pending:
            return
        events, self._pending = tuple(self._pending.values()), {}
        self.changed.emit(StoreChanges(events))


#: Each store's bridge. Weak keys: a store that is gone takes its bridge with it.
_BRIDGES: weakref.WeakKeyDictionary[SessionStore, StoreBridge] = weakref.WeakKeyDictionary()
