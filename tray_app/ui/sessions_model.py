"""A live table model of the store's sessions, newest first, for the sessions window.

It follows the store's bridge (``store_bridge.py``): a burst of changes arrives once per
loop turn and becomes row inserts, removals and row-level ``dataChanged``; it never polls.
Only the Age column depends on the clock: :meth:`refresh_ages` repaints it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Slot,
)
from PySide6.QtGui import QColor

from tray_app.creation.wording import age_words, doing_words, session_title, state_words
from tray_app.i18n import N_, _
from tray_app.sessions.session import Session
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import Change, SessionStore
from tray_app.ui.store_bridge import StoreBridge, StoreChanges

#: Marked here, translated in headerData (built at import, before the language is chosen).
COLUMNS = (N_("Title"), N_("State"), N_("Phase"), N_("Age"), N_("Destination"))
TITLE, STATE, PHASE, AGE, DESTINATION = range(len(COLUMNS))

#: Role holding the session id of a row.
SESSION_ID_ROLE = Qt.ItemDataRole.UserRole + 1
#: What an empty cell reads as, per column.
_EMPTY_WORDS = {DESTINATION: N_("no folder yet")}

_STATE_COLOURS = {
    SessionState.INPUT_REQUIRED: QColor("#b06000"),
    SessionState.FAILED: QColor("#b3261e"),
    SessionState.DONE: QColor("#1e7e34"),
}

AnyIndex = QModelIndex | QPersistentModelIndex


class SessionsModel(QAbstractTableModel):
    """Rows are sessions, newest first, kept in step with the store."""

    def __init__(
        self, store: SessionStore, parent: QObject | None = None, *, root: Path | None = None
    ) -> None:
        super().__init__(parent)
        self.store = store
        #: The data folder (local_root): destinations below it are shown relative to it.
        self.root = root
        self._ids: list[str] = [s.session_id for s in store.sessions()]
        #: How many times store changes were applied (for tests and benchmarks).
        self.flush_count = 0
        self._bridge: StoreBridge | None = StoreBridge.of(store)
        self._bridge.changed.connect(self._apply)

    def detach(self) -> None:
        """Stop listening to the store (the window is going away)."""
        if self._bridge is not None:
            self._bridge.changed.disconnect(self._apply)
            self._bridge = None

    # ---- following the store ------------------------------------------------------------
    def flush(self) -> None:
        """Apply the store's pending changes now (the bridge does once per loop turn)."""
        if self._bridge is not None:
            self._bridge.flush()

    @Slot(object)
    def _apply(self, changes: StoreChanges) -> None:
        self.flush_count += 1
        if changes.structure:
            self._apply_structure()
        dirty = {s.session_id for s, c in changes if c not in (Change.OPENED, Change.EVICTED)}
        if not dirty:
            return
        last = len(COLUMNS) - 1
        for row, session_id in enumerate(self._ids):
            if session_id in dirty:
                self.dataChanged.emit(self.index(row, 0), self.index(row, last))

    def _apply_structure(self) -> None:
        wanted = [s.session_id for s in self.store.sessions()]
        keep = set(wanted)
        for row in range(len(self._ids) - 1, -1, -1):
            if self._ids[row] not in keep:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._ids[row]
                self.endRemoveRows()
        added = len(wanted) - len(self._ids)
        if added > 0 and wanted[added:] == self._ids:
            # New sessions are the newest, so they go on top.
            self.beginInsertRows(QModelIndex(), 0, added - 1)
            self._ids[:0] = wanted[:added]
            self.endInsertRows()
        elif wanted != self._ids:
            self.beginResetModel()
            self._ids = wanted
            self.endResetModel()

    def refresh_ages(self) -> None:
        """Repaint the Age column (the only column that changes with time alone)."""
        if self._ids:
            self.dataChanged.emit(
                self.index(0, AGE),
                self.index(len(self._ids) - 1, AGE),
                [Qt.ItemDataRole.DisplayRole],
            )

    # ---- Qt model API ---------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex | None = None) -> int:  # noqa: N802 - Qt override
        if parent is not None and parent.isValid():
            return 0
        return len(self._ids)

    def columnCount(self, parent: AnyIndex | None = None) -> int:  # noqa: N802 - Qt override
        if parent is not None and parent.isValid():
            return 0
        return len(COLUMNS)

    def headerData(  # noqa: N802 - Qt override
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation is Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(COLUMNS)
        ):
            return _(COLUMNS[section])
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        session = self.session_at(index.row()) if index.isValid() else None
        if session is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(session, column)
        if role == SESSION_ID_ROLE:
            return session.session_id
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(session, column)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            # A screen reader says something for an empty cell too.
            return self._text(session, column) or _(_EMPTY_WORDS.get(column, N_("none")))
        if role == Qt.ItemDataRole.ForegroundRole and column == STATE:
            return _STATE_COLOURS.get(session.state)
        return None

    def _text(self, session: Session, column: int) -> str:
        if column == TITLE:
            return session_title(session)
        if column == STATE:
            return state_words(session.state)
        if column == PHASE:
            return doing_words(session)
        if column == AGE:
            seconds = (self.store.clock() - session.created_at).total_seconds()
            return age_words(seconds)
        if column == DESTINATION:
            return self._short_destination(session.destination)
        return ""

    def _short_destination(self, destination: str | None) -> str:
        """``DEMO/Project/Runs/Run_…``: every run of a project ends alike, so the part that
        tells them apart is kept; the full path is the tooltip."""
        if not destination:
            return ""
        if self.root is not None:
            with contextlib.suppress(ValueError):
                return Path(destination).relative_to(self.root).as_posix()
        return destination

    def _tooltip(self, session: Session, column: int) -> str | None:
        if column == STATE and session.error:
            return str(session.error.get("message") or "")
        if column == DESTINATION and session.destination:
            return session.destination
        if column == PHASE:
            return doing_words(session)
        return None

    # ---- lookups -----------------------------------------------------------------------------
    def session_id_at(self, row: int) -> str | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def session_at(self, row: int) -> Session | None:
        session_id = self.session_id_at(row)
        return self.store.get(session_id) if session_id is not None else None

    def row_of(self, session_id: str) -> int:
        try:
            return self._ids.index(session_id)
        except ValueError:
            return -1
