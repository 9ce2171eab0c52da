"""The base of the dialogs about one session (its prompt, its details): non-modal, gone
when closed, and following that session through the store's bridge until it stops.

A subclass says what to do when the session changed (``session_changed``); the base
filters the bridge's changes down to that session and disconnects exactly once.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QDialog, QWidget

from tray_app.sessions.store import SessionStore
from tray_app.ui.store_bridge import StoreBridge, StoreChanges

__all__ = ["SessionDialog"]


class SessionDialog(QDialog):
    """A dialog about ``session_id``; ``session_changed()`` runs after each of its changes."""

    def __init__(
        self, store: SessionStore, session_id: str, name: str, parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.session_id = session_id
        self.setObjectName(name)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setMinimumWidth(520)
        # Changes come once per loop turn at the earliest: never before __init__ ends.
        self._bridge: StoreBridge | None = StoreBridge.of(store)
        self._bridge.changed.connect(self._on_store_changes)

    def session_changed(self) -> None:
        """The session changed (or is gone from the store): show it as it is now."""
        raise NotImplementedError

    @Slot(object)
    def _on_store_changes(self, changes: StoreChanges) -> None:
        if changes.touches(self.session_id):
            self.session_changed()

    def stop_following(self) -> None:
        """No more changes from now on (closing); safe to call again."""
        if self._bridge is not None:
            self._bridge.changed.disconnect(self._on_store_changes)
            self._bridge = None
