"""The dialog that answers a plugin's question: a form generated from the session's
pending prompt, which resumes or cancels the session through the controller.

While open it heartbeats its session so the GC does not abandon it, and it follows the
session through the store's bridge (one update per loop turn): a new prompt rebuilds the
form, a session that ends or is answered elsewhere is announced and the dialog closes.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QMargins, Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QDialogButtonBox,
    QFrame,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QScrollArea,
    QWidget,
)

from tray_app.creation.errors import INVALID_ANSWERS, CreationError
from tray_app.creation.fields import Field
from tray_app.creation.prompt import Prompt
from tray_app.creation.seam import CreationSeam
from tray_app.creation.wording import session_title, was_abandoned
from tray_app.i18n import _
from tray_app.sessions.session import Session
from tray_app.sessions.states import TERMINAL_STATES, SessionState
from tray_app.sessions.store import SessionStore
from tray_app.ui.async_bridge import error_message, run_async
from tray_app.ui.cancel_confirm import ask_cancel
from tray_app.ui.dialog_parts import (
    Stretched,
    add_button,
    add_main_button,
    column,
    heading_label,
)
from tray_app.ui.field_widgets import HINT_STYLE, FieldForm, error_label
from tray_app.ui.keyboard import mnemonic_letters
from tray_app.ui.prompt_drafts import PromptDrafts
from tray_app.ui.session_dialog import SessionDialog
from tray_app.ui.timers import make_timer

HEARTBEAT_MS = 60_000
CLOSE_DELAY_MS = 4_000
DEFAULT_WIDTH = 600


INFO_BANNER_STYLE = (
    "QLabel { background: #e8f0fe; color: #174ea6; border: 1px solid #aecbfa;"
    " border-radius: 4px; padding: 8px; }"
)
WARN_BANNER_STYLE = (
    "QLabel { background: #fef7e0; color: #7a4f01; border: 1px solid #f9d67a;"
    " border-radius: 4px; padding: 8px; }"
)


class PromptDialog(SessionDialog):
    """Answer (or cancel) one waiting session. Non-modal; one per session."""

    #: Emitted once when the dialog is done with its session (closed for any reason).
    session_released = Signal(str)

    def __init__(
        self,
        store: SessionStore,
        controller: CreationSeam,
        session_id: str,
        parent: QWidget | None = None,
        *,
        heartbeat_ms: int = HEARTBEAT_MS,
        close_delay_ms: int = CLOSE_DELAY_MS,
        drafts: PromptDrafts | None = None,
    ) -> None:
        super().__init__(store, session_id, "prompt_dialog", parent)
        self.controller = controller
        #: Unsent answers kept when the dialog closes (shared by every prompt dialog).
        self.drafts = drafts
        self._close_delay_ms = close_delay_ms
        #: The controller's typed prompt this form was built from (the same object while
        #: the session waits on it; a new one means a new question).
        self._prompt: Prompt | None = None
        self._fields: list[Field] = []
        self._busy = False
        self._answers_sent = False  # our resume went through; wait for what comes next
        self._cancelling = False
        self._ended = False
        self._torn_down = False
        self.confirm_box: QMessageBox | None = None

        self.heading = heading_label()
        self.heading.setObjectName("prompt_heading")
        self.reason = QLabel()
        self.reason.setObjectName("prompt_reason")
        self.reason.setWordWrap(True)
        self.reason.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.meta = QLabel()
        self.meta.setObjectName("prompt_meta")
        self.meta.setStyleSheet(HINT_STYLE)
        self.banner = QLabel()
        self.banner.setObjectName("prompt_banner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.general_error = error_label("prompt_error")

        self.form = FieldForm([])
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        # Not a tab stop of its own: focusing a field scrolls it into view.
        self.scroll_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.scroll_area.setWidget(self.form)

        self.buttons = QDialogButtonBox()
        role = QDialogButtonBox.ButtonRole
        self.submit_button = add_main_button(
            self, self.buttons, _("&Submit"), "submit", self.submit
        )
        self.close_button = add_button(
            self.buttons,
            _("Cl&ose"),
            "close",
            role.RejectRole,
            self.reject,
            tooltip=_("Close this window; the session keeps waiting"),
        )
        self.cancel_button = add_button(
            self.buttons,
            _("&Cancel session…"),
            "cancel_session",
            role.ResetRole,
            self.ask_cancel,
            tooltip=_("Stop this session"),
        )
        column(
            self,
            *(self.heading, self.reason, self.meta, self.banner, 4, Stretched(self.scroll_area)),
            self.general_error,
            10,  # the last hint never touches the buttons
            self.buttons,
            spacing=8,
        )

        self._heartbeat_timer = make_timer(self, self._heartbeat, heartbeat_ms, repeat=True)
        self._close_timer = make_timer(self, self.reject)

        self.finished.connect(self._tear_down)
        self._sync_with_session()

    # ---- reading the session --------------------------------------------------------
    @property
    def fields(self) -> list[Field]:
        return list(self._fields)

    @property
    def attempt(self) -> int:
        return self._prompt.attempt if self._prompt is not None else 1

    @property
    def heartbeat_active(self) -> bool:
        return self._heartbeat_timer.isActive()

    def session_changed(self) -> None:
        self._sync_with_session()

    def _sync_with_session(self) -> None:
        if self._torn_down:
            return
        session = self.store.get(self.session_id)
        if session is None:
            self._announce_end(_("This session no longer exists."))
            return
        title = session_title(session)
        self.setWindowTitle(_("Input needed: {title}").format(title=title))
        if session.state is SessionState.INPUT_REQUIRED:
            prompt = self.controller.pending_prompt(self.session_id)
            if prompt is None:
                # Waiting, but not on a pipeline of this app's controller: nothing here
                # could resume it.
                self._show_general_error(_("This question cannot be answered here."))
                self.submit_button.setEnabled(False)
            elif prompt is not self._prompt:
                self._build(session, prompt)
            return
        if self._cancelling:
            return  # our own cancel: the dialog closes when it returns
        if session.state in TERMINAL_STATES:
            self._announce_end(_ending_words(session), warn=session.state is not SessionState.DONE)
        elif self._answers_sent:
            if session.state is SessionState.PLUGIN_PASS:
                self._show_banner(_("Answers sent. The plugin is working with them…"))
            else:
                self.accept()  # past the plugins: nothing more will be asked
        elif self._prompt is not None and not self._busy:
            self._announce_end(
                _("These questions were answered elsewhere; the session goes on."), warn=False
            )

    # ---- building the form ---------------------------------------------------------------
    def _build(self, session: Session, prompt: Prompt) -> None:
        self._close_timer.stop()
        self._prompt = prompt
        self._answers_sent = False
        self._ended = False
        title = session_title(session)
        self.heading.setText(_("{title} needs your input").format(title=title))
        self.reason.setText(prompt.reason or _("A plugin needs more information."))
        self.reason.setVisible(True)
        meta = _("Asked by plugin {plugin}").format(plugin=prompt.plugin or _("a plugin"))
        if prompt.attempt > 1:
            meta += _(" · attempt {n}").format(n=prompt.attempt)
        self.meta.setText(meta + _(" · fields marked * are required"))
        self.banner.hide()
        self.general_error.hide()
        self._fields = list(prompt.fields)
        form = FieldForm(
            self._fields,
            # Alt+S submits, Alt+O closes, Alt+C cancels; the labels take other letters.
            reserved=mnemonic_letters(
                *(b.text() for b in (self.submit_button, self.close_button, self.cancel_button))
            ),
        )
        draft = self.drafts.get(self.session_id) if self.drafts is not None else {}
        for field_id, value in {**prompt.answers, **draft}.items():
            editor = form.editors.get(field_id)
            if editor is not None and value is not None:
                editor.set_value(value)
        form.edited.connect(self.general_error.hide)
        old = self.scroll_area.takeWidget()
        if old is not None:
            old.deleteLater()
        self.form = form
        self.scroll_area.setWidget(form)
        self._set_busy(False)
        self.submit_button.setEnabled(bool(self._fields))
        self._fix_tab_order()
        self._fit_height()
        form.focus_first()

    def _fix_tab_order(self) -> None:
        last = self.form.last_widget()
        if last is not None:
            QWidget.setTabOrder(last, self.submit_button)
        QWidget.setTabOrder(self.submit_button, self.close_button)
        QWidget.setTabOrder(self.close_button, self.cancel_button)

    def _fit_height(self) -> None:
        form_layout = self.form.layout()
        if form_layout is not None:
            form_layout.activate()  # rows just shown or hidden (error lines) count now
        layout = self.layout()
        margins = layout.contentsMargins() if layout is not None else QMargins()
        dialog_width = self.width() if self.isVisible() else DEFAULT_WIDTH
        width = max(dialog_width, self.minimumWidth()) - margins.left() - margins.right()
        wanted = self.form.heightForWidth(width) if self.form.hasHeightForWidth() else -1
        if wanted <= 0:
            wanted = self.form.sizeHint().height()
        wanted += 4
        screen = self.screen()
        limit = int(screen.availableGeometry().height() * 0.5) if screen is not None else 600
        self.scroll_area.setMinimumHeight(min(wanted, limit))
        # The scroll area's own size hint assumes a narrower form (taller, with
        # more wrapped hints); size the dialog to what the form really needs.
        self.resize(max(dialog_width, self.minimumWidth()), self.minimumSizeHint().height())

    # ---- submitting ------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        """Enter in a field submits; a button with focus does its own job (Space or Enter)."""
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter:
            focus = QApplication.focusWidget()
            ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
            on_button = isinstance(focus, QAbstractButton)
            # A multi-line text field takes Enter as a new line; Ctrl+Enter sends from it.
            in_text = isinstance(focus, QPlainTextEdit)
            if ctrl or not (on_button or in_text):
                event.accept()
                self.submit()
                return
        super().keyPressEvent(event)

    def submit(self) -> None:
        """Resume the session with the form's answers. The controller checks them (the
        one validator); what it refuses comes back in :meth:`_refused`, field by field."""
        if self._busy or self._ended or not self._fields:
            return
        answers = self.form.values()
        self.form.clear_errors()
        self.general_error.hide()
        self._set_busy(True)
        self._show_banner(_("Sending your answers…"))
        run_async(
            self.controller.resume(self.session_id, answers),
            on_result=self._resumed,
            on_error=self._refused,
            owner=self,
            what=f"answering session {self.session_id}",
        )

    def _resumed(self, _handle: dict[str, Any]) -> None:
        self._answers_sent = True
        if self.drafts is not None:
            self.drafts.drop(self.session_id)
        self._busy = False
        self._sync_with_session()

    def _refused(self, error: BaseException) -> None:
        self._set_busy(False)
        self.banner.hide()
        if isinstance(error, CreationError) and error.code == INVALID_ANSWERS:
            fields = (error.details or {}).get("fields") or {}
            if isinstance(fields, dict) and fields:
                self._show_field_errors({str(k): str(v) for k, v in fields.items()})
                return
        self._show_general_error(error_message(error))
        self._sync_with_session()

    def _show_field_errors(self, errors: dict[str, str]) -> None:
        unmatched = self.form.show_errors(errors)
        # The error lines make the form taller: grow with it rather than scroll or clip.
        self._fit_height()
        if unmatched:
            lines = "; ".join(f"{key}: {message}" for key, message in unmatched.items())
            self._show_general_error(_("Some answers were refused: {lines}").format(lines=lines))
        else:
            self._show_general_error(_("Please correct the marked fields."))

    # ---- cancelling ---------------------------------------------------------------------------
    def ask_cancel(self) -> None:
        """Ask Keep files / Discard files / Keep editing, without blocking the loop."""
        if self._busy or self._ended:
            return
        session = self.store.get(self.session_id)
        title = session_title(session) if session is not None else self.session_id
        self.confirm_box = ask_cancel(self, title, self._cancel_session)

    def _cancel_session(self, discard_files: bool) -> None:
        self._cancelling = True
        self._set_busy(True)
        self._show_banner(_("Cancelling the session…"))
        run_async(
            self.controller.cancel(self.session_id, discard_files),
            on_result=lambda _handle: self.accept(),
            on_error=self._cancel_failed,
            owner=self,
            what=f"cancelling session {self.session_id}",
        )

    def _cancel_failed(self, error: BaseException) -> None:
        self._cancelling = False
        self._set_busy(False)
        self.banner.hide()
        self._show_general_error(_("Could not cancel: {error}").format(error=error_message(error)))
        self._sync_with_session()

    # ---- ending -------------------------------------------------------------------------------
    def _announce_end(self, words: str, *, warn: bool = True) -> None:
        if self._ended:
            return
        self._ended = True
        self._set_busy(False)
        self.submit_button.setEnabled(False)
        self.cancel_button.setEnabled(False)
        self.form.setEnabled(False)
        if self.confirm_box is not None:
            self.confirm_box.close()
            self.confirm_box = None
        self._show_banner(
            _("{words} This window closes in a moment.").format(words=words), warn=warn
        )
        self.close_button.setFocus()
        self._close_timer.start(self._close_delay_ms)

    def _show_banner(self, text: str, *, warn: bool = False) -> None:
        self.banner.setText(text)
        self.banner.setStyleSheet(WARN_BANNER_STYLE if warn else INFO_BANNER_STYLE)
        self.banner.show()

    def _show_general_error(self, text: str) -> None:
        self.general_error.setText(text)
        self.general_error.show()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.submit_button.setEnabled(not busy and bool(self._fields))
        self.cancel_button.setEnabled(not busy)
        self.form.setEnabled(not busy)

    # ---- heartbeats and teardown -------------------------------------------------------------
    def _heartbeat(self) -> None:
        self.store.heartbeat(self.session_id)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._torn_down and not self._heartbeat_timer.isActive():
            self._heartbeat()
            self._heartbeat_timer.start()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        super().closeEvent(event)
        self._tear_down()

    def _tear_down(self) -> None:
        if self._torn_down:
            return
        self._torn_down = True
        if self.drafts is not None and not self._answers_sent and not self._ended:
            # Closed with answers typed but not sent: the next dialog starts from them.
            self.drafts.save(self.session_id, self.form.values())
        self._heartbeat_timer.stop()
        self._close_timer.stop()
        self.stop_following()
        self.session_released.emit(self.session_id)


def _ending_words(session: Session) -> str:
    outcome = session.outcome or {}
    message = str(outcome.get("message") or "").strip()
    if session.state is SessionState.DONE:
        return _("The session finished.")
    if session.state is SessionState.FAILED:
        if message:
            return _("The session failed: {message}").format(message=message)
        return _("The session failed.")
    if was_abandoned(session):
        return _("Nobody answered in time, so the session was abandoned.")
    return _("The session was cancelled elsewhere.")
