"""What the tray menu, notifications and the sessions window can do to a session:
answer, show details, cancel, open its folder, copy its details, start a new one.

One object owns the open dialogs so each session gets at most one prompt and
one details window, and a second request just brings the existing one forward.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMessageBox, QWidget

from tray_app.config import Settings
from tray_app.creation.seam import CreationSeam
from tray_app.creation.wording import session_title
from tray_app.i18n import _
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import SessionStore
from tray_app.ui.async_bridge import error_message, run_async
from tray_app.ui.cancel_confirm import ask_cancel
from tray_app.ui.open_dialogs import OpenDialogs, bring_forward
from tray_app.ui.prompt_drafts import PromptDrafts

if TYPE_CHECKING:
    # The dialogs load on first use: an idle tray should not hold their code.
    from tray_app.ui.details_dialog import DetailsDialog
    from tray_app.ui.new_session_dialog import NewSessionDialog
    from tray_app.ui.prompt_dialog import PromptDialog
    from tray_app.ui.sessions_window import SessionsWindow

_log = logging.getLogger(__name__)


class SessionActions(QObject):
    """Session commands for every part of the UI; keeps one dialog per purpose."""

    #: An action could not be done: (session id or "", message for a person).
    action_failed = Signal(str, str)
    #: A new session was created from a dialog (its handle).
    session_created = Signal(dict)
    #: The sessions window stood in for the tray and was closed: the app should quit.
    quit_requested = Signal()
    #: A failure was looked at (its id), or every listed one (None: the sessions window).
    failures_seen = Signal(object)

    def __init__(
        self,
        store: SessionStore,
        controller: CreationSeam,
        settings: Settings,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.controller = controller
        self.settings = settings
        self.prompts: OpenDialogs[str, PromptDialog] = OpenDialogs()
        self.details: OpenDialogs[str, DetailsDialog] = OpenDialogs()
        self.new_dialogs: OpenDialogs[str, NewSessionDialog] = OpenDialogs()
        self.confirm_boxes: OpenDialogs[str, QMessageBox] = OpenDialogs()
        self.sessions_window: SessionsWindow | None = None
        self._quit_on_close = False
        self.drafts = PromptDrafts(store)

    # ---- prompts and details ------------------------------------------------------------
    def open_prompt(self, session_id: str) -> None:
        """Show the prompt of a waiting session (bring an open one forward)."""
        if self.prompts.forward(session_id):
            return
        session = self.store.get(session_id)
        if session is None or session.state is not SessionState.INPUT_REQUIRED:
            # It moved on meanwhile (answered elsewhere, abandoned): say where it stands.
            self.show_details(session_id)
            return
        from tray_app.ui.prompt_dialog import PromptDialog

        dialog = PromptDialog(self.store, self.controller, session_id, drafts=self.drafts)
        bring_forward(self.prompts.keep(session_id, dialog, dialog.session_released))

    def show_details(self, session_id: str) -> None:
        self.failures_seen.emit(session_id)
        if self.details.forward(session_id):
            return
        if self.store.get(session_id) is None:
            self.action_failed.emit(session_id, _("That session is no longer kept."))
            return
        from tray_app.ui.details_dialog import DetailsDialog

        dialog = DetailsDialog(self, session_id)
        bring_forward(self.details.keep(session_id, dialog, dialog.finished))

    # ---- cancelling -----------------------------------------------------------------------
    def cancel(self, session_id: str) -> None:
        """Ask Keep files for review / Discard files / Go back, then cancel."""
        if self.prompts.forward(session_id):
            self.prompts[session_id].ask_cancel()
            return
        if self.confirm_boxes.forward(session_id):
            return
        session = self.store.get(session_id)
        if session is None or session.is_terminal():
            self.action_failed.emit(session_id, _("That session has already ended."))
            return
        parent = self._visible_window()
        box = ask_cancel(
            parent,
            session_title(session),
            lambda discard: self._cancel(session_id, discard),
            back_label=_("Go back"),
        )
        self.confirm_boxes.keep(session_id, box, box.finished)

    def _cancel(self, session_id: str, discard_files: bool) -> None:
        run_async(
            self.controller.cancel(session_id, discard_files),
            on_error=lambda error: self.action_failed.emit(
                session_id, _("Could not cancel: {error}").format(error=error_message(error))
            ),
            owner=self,
            what=f"cancelling session {session_id}",
        )

    # ---- an interrupted session: start again, or discard its folder ---------------------
    def start_again(self, session_id: str) -> None:
        """A new session with the same request (the controller picks a fresh folder)."""
        run_async(
            self.controller.start_again(session_id),
            on_result=self.session_created.emit,
            on_error=lambda error: self.action_failed.emit(
                session_id, _("Could not start again: {error}").format(error=error_message(error))
            ),
            owner=self,
            what=f"starting session {session_id} again",
        )

    def discard_folder(self, session_id: str) -> None:
        """Ask, then remove the unfinished folder an interrupted session left."""
        session = self.store.get(session_id)
        if session is None:
            self.action_failed.emit(session_id, _("That session is no longer kept."))
            return
        if self.confirm_boxes.forward(session_id):
            return
        path = (session.outcome or {}).get("path") or session.destination or ""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            _("Discard folder"),
            _("Delete the unfinished folder of {title}?").format(title=session_title(session)),
            parent=self._visible_window(),
        )
        box.setInformativeText(_("{path} and everything in it will be deleted.").format(path=path))
        discard = box.addButton(_("&Delete folder"), QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton(_("&Keep it"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)

        def answered(_result: int) -> None:
            if box.clickedButton() is discard:
                self._discard(session_id)

        self.confirm_boxes.keep(session_id, box, box.finished)
        box.finished.connect(answered)
        box.open()

    def _discard(self, session_id: str) -> None:
        run_async(
            self.controller.discard_folder(session_id),
            on_error=lambda error: self.action_failed.emit(
                session_id,
                _("Could not discard the folder: {error}").format(error=error_message(error)),
            ),
            owner=self,
            what=f"discarding the folder of session {session_id}",
        )

    # ---- files and clipboard ----------------------------------------------------------------
    def open_folder(self, session_id: str) -> None:
        session = self.store.get(session_id)
        destination = session.destination if session is not None else None
        if not destination:
            self.action_failed.emit(session_id, _("This session has no folder yet."))
            return
        folder = Path(destination)
        if not folder.is_dir():
            self.action_failed.emit(
                session_id,
                _("The folder {folder} does not exist (any more).").format(folder=folder),
            )
            return
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.action_failed.emit(
                session_id, _("No program could open {folder}.").format(folder=folder)
            )

    def copy_details(self, session_id: str) -> None:
        session = self.store.get(session_id)
        if session is None:
            self.action_failed.emit(session_id, _("That session is no longer kept."))
            return
        from tray_app.ui.details_dialog import session_details_text

        self.failures_seen.emit(session_id)
        QGuiApplication.clipboard().setText(session_details_text(session))

    # ---- new sessions and the window ----------------------------------------------------------
    def new_session(self, kind: str) -> None:
        """Open the New project / New run dialog (bring an open one forward)."""
        if self.new_dialogs.forward(kind):
            return
        from tray_app.ui.new_session_dialog import NewSessionDialog

        dialog = NewSessionDialog(kind, self.controller, self.settings)
        dialog.created.connect(self.session_created.emit)
        bring_forward(self.new_dialogs.keep(kind, dialog, dialog.finished))

    def set_quit_on_close(self, quit_on_close: bool) -> None:
        """Make closing the sessions window quit the app (no system tray)."""
        self._quit_on_close = quit_on_close
        if self.sessions_window is not None:
            self.sessions_window.quit_on_close = quit_on_close

    def show_sessions_window(self, reason: str | None = None) -> None:
        """Show the sessions window; ``reason`` says at its top why it is shown."""
        window = self.sessions_window
        if window is None:
            from tray_app.ui.sessions_window import SessionsWindow

            window = SessionsWindow(self, reason=reason, quit_on_close=self._quit_on_close)
            window.close_requested.connect(self.quit_requested.emit)
            # Every failure the window lists is seen whenever the operator comes to it.
            window.installEventFilter(self)
            self.sessions_window = window
        elif reason is not None:
            window.set_reason(reason)
        bring_forward(window)
        self.failures_seen.emit(None)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.sessions_window and event.type() is QEvent.Type.WindowActivate:
            self.failures_seen.emit(None)
        return False

    def close_all(self) -> None:
        """Close every dialog and the window (on quit); closing here never asks to quit."""
        self.confirm_boxes.close_all()
        self.prompts.close_all()
        self.details.close_all()
        self.new_dialogs.close_all()
        window = self.sessions_window
        if window is not None:
            window.quit_on_close = False
            window.close()
            window.model.detach()
            window.deleteLater()
            self.sessions_window = None

    def _visible_window(self) -> QWidget | None:
        window = self.sessions_window
        return window if window is not None and window.isVisible() else None
