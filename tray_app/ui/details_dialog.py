"""A session's handle in words: what it is, where it stands, where its files are,
and how it ended, with a button that copies all of it for a bug report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QCloseEvent, QDesktopServices, QFontDatabase
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from tray_app import logs
from tray_app.creation.recovery import offers_discard, offers_start_again
from tray_app.creation.sync import SyncJob, job_words
from tray_app.creation.wording import age_words, doing_words, session_title, state_words
from tray_app.i18n import N_, _
from tray_app.sessions.session import Session
from tray_app.sessions.states import SessionState
from tray_app.ui.dialog_parts import Stretched, add_button, column, heading_label
from tray_app.ui.session_dialog import SessionDialog

if TYPE_CHECKING:
    # session_actions loads this module on first use; the dialog only calls it.
    from tray_app.ui.session_actions import SessionActions


def local_time(moment: datetime | None) -> str:
    if moment is None:
        return ""
    # The format is the catalog's, so each language writes it its own way (ISO in English).
    return moment.astimezone().strftime(_("%Y-%m-%d %H:%M:%S"))


def problem_words(session: Session) -> str:
    """What went wrong, in words: the message, then each field problem on its own line."""
    if session.error:
        error = session.error
        lines = [str(error.get("message") or error.get("code") or _("unknown error"))]
        details = error.get("details") or {}
        problems = details.get("errors") if isinstance(details, dict) else None
        for problem in problems if isinstance(problems, list) and len(problems) > 1 else []:
            if isinstance(problem, dict) and problem.get("message"):
                lines.append(f"• {problem['message']}")
        return "\n".join(lines)
    if session.state is SessionState.ABORTED and session.result:
        return str(session.result.get("message") or session.result.get("code") or "")
    return ""


def outcome_json(session: Session) -> str:
    """The error (failed) or result (done, aborted) as indented JSON, or ""."""
    outcome = session.error if session.state is SessionState.FAILED else session.result
    if not outcome:
        return ""
    return json.dumps(outcome, indent=2, sort_keys=True, default=str, ensure_ascii=False)


def plugin_statuses(session: Session) -> list[str]:
    """Lines like "plate_map: ok (0.4 s)" from the outcome's plugin records, if any."""
    outcome: dict[str, Any] = session.outcome or {}
    records = outcome.get("plugins") or (outcome.get("details") or {}).get("plugins") or []
    lines: list[str] = []
    if isinstance(records, list):
        for record in records:
            if not isinstance(record, dict):
                continue
            line = f"{record.get('name') or record.get('plugin', '?')}: {record.get('status', '?')}"
            duration = record.get("duration_s")
            if isinstance(duration, int | float):
                line += f" ({duration:.1f} s)"
            lines.append(line)
    return lines


def plugin_log_of(session_id: str) -> str | None:
    """The session's plugin log (its plugins' stderr), if one was written."""
    try:
        path = logs.plugin_log_path(session_id)
    except ValueError:
        return None
    return str(path) if path.is_file() else None


def session_details_text(session: Session) -> str:
    """Plain text for the clipboard: title, state, destination, times, warnings, outcome."""
    lines = [
        _("Title: {title}").format(title=session_title(session)),
        _("Session: {id} ({kind})").format(id=session.session_id, kind=session.kind.value),
        _("State: {words} ({state})").format(
            words=state_words(session.state), state=session.state.value
        ),
        _("Phase: {doing}").format(doing=doing_words(session)),
        _("Destination: {path}").format(path=session.destination or _("(not set)")),
        _("Created: {time}").format(time=local_time(session.created_at)),
    ]
    if session.finished_at is not None:
        lines.append(_("Finished: {time}").format(time=local_time(session.finished_at)))
    for warning in session.warnings:
        lines.append(_("Warning: {warning}").format(warning=warning))
    lines.extend(_("Plugin {line}").format(line=line) for line in plugin_statuses(session))
    log = plugin_log_of(session.session_id)
    if log:
        lines.append(_("Plugin log: {path}").format(path=log))
    text = outcome_json(session)
    if text:
        lines.append(
            (_("Error:") if session.state is SessionState.FAILED else _("Result:")) + "\n" + text
        )
    return "\n".join(lines)


class DetailsDialog(SessionDialog):
    """Read-only details of one session, kept up to date while open."""

    def __init__(
        self, actions: SessionActions, session_id: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(actions.store, session_id, "details_dialog", parent)
        #: The session's NAS sync job, for the "NAS sync" row (None: no queue to ask, as
        #: in tests and embedded uses without a controller).
        self._sync_job: Callable[[str], SyncJob | None] | None = getattr(
            actions.controller, "sync_job_for", None
        )

        self.heading = heading_label()
        self.heading.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.rows = QFormLayout()
        self.rows.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.rows.setVerticalSpacing(6)
        self.values: dict[str, QLabel] = {}
        for key in (
            # The rows' keys are English (object names, lookups); each shows translated.
            N_("State"),
            N_("Phase"),
            N_("Created"),
            N_("Last heartbeat"),
            N_("Finished"),
            N_("Destination"),
            N_("Waiting for"),
            N_("Warnings"),
            N_("Plugins"),
            N_("Plugin log"),
            N_("NAS sync"),
            N_("Problem"),
        ):
            value = QLabel()
            value.setObjectName(f"detail_{key.lower().replace(' ', '_')}")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
            self.values[key] = value
            self.rows.addRow(_("{label}:").format(label=_(key)), value)
        for linked in ("Destination", "Plugin log"):
            self.values[linked].setOpenExternalLinks(False)
            self.values[linked].linkActivated.connect(self._open_link)
        self.outcome = QPlainTextEdit()
        self.outcome.setObjectName("detail_outcome")
        self.outcome.setReadOnly(True)
        self.outcome.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.outcome.setMinimumHeight(120)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)

        def action(text: str, name: str, command: Callable[[str], None]) -> QPushButton:
            # Each button does its job on this session through SessionActions, as the
            # menu and the sessions window do.
            return add_button(
                self.buttons,
                text,
                name,
                QDialogButtonBox.ButtonRole.ActionRole,
                lambda: command(self.session_id),
            )

        self.copy_button = action(_("Cop&y details"), "copy_details", actions.copy_details)
        self.answer_button = action(_("&Answer…"), "answer", actions.open_prompt)
        # An interrupted session's two ways on (DESIGN §8).
        self.start_again_button = action(_("Start a&gain"), "start_again", actions.start_again)
        self.discard_button = action(
            _("Disca&rd folder…"), "discard_folder", actions.discard_folder
        )
        self.buttons.rejected.connect(self.reject)

        # Spare height goes to the outcome text.
        column(self, self.heading, self.rows, Stretched(self.outcome), self.buttons)

        self.refresh()

    def session_changed(self) -> None:
        # Heartbeats do not come through the bridge: "Last heartbeat" is as of the
        # session's last real change (or of opening the dialog).
        self.refresh()

    def refresh(self) -> None:
        session = self.store.get(self.session_id)
        if session is None:
            self.heading.setText(_("This session is no longer kept."))
            for button in (self.answer_button, self.start_again_button, self.discard_button):
                button.hide()
            self.copy_button.setEnabled(False)
            return
        title = session_title(session)
        self.setWindowTitle(_("Session details: {title}").format(title=title))
        self.heading.setText(title)
        now = self.store.clock()
        age = age_words((now - session.created_at).total_seconds())
        self._set("State", state_words(session.state))
        self._set("Phase", doing_words(session))
        ago = age if age == _("just now") else _("{age} ago").format(age=age)
        self._set(
            "Created", _("{time} ({ago})").format(time=local_time(session.created_at), ago=ago)
        )
        self._set("Last heartbeat", local_time(session.last_heartbeat))
        self._set("Finished", local_time(session.finished_at))
        if session.destination and not Path(session.destination).exists():
            # Never made (or removed): a link would open nothing.
            self._set("Destination", _("{path} (not on disk)").format(path=session.destination))
        else:
            self._set_link("Destination", session.destination)
        prompt = session.pending_input or {}
        waiting = ""
        if session.state is SessionState.INPUT_REQUIRED:
            waiting = _("{plugin}: {reason}").format(
                plugin=prompt.get("plugin", _("a plugin")), reason=prompt.get("reason", "")
            )
        self._set("Waiting for", waiting)
        self._set("Warnings", "\n".join(session.warnings))
        self._set("Plugins", "\n".join(plugin_statuses(session)))
        self._set_link("Plugin log", plugin_log_of(session.session_id))
        self._set("NAS sync", self._sync_text(session))
        self._set("Problem", problem_words(session))
        # In words above; the raw JSON stays behind Copy details.
        self.outcome.setPlainText(outcome_json(session))
        self.outcome.setVisible(False)
        self.answer_button.setVisible(session.state is SessionState.INPUT_REQUIRED)
        self.start_again_button.setVisible(offers_start_again(session))
        self.discard_button.setVisible(offers_discard(session))

    def refresh_sync(self) -> None:
        """Only the "NAS sync" row again: what the sync queue changes (see follow_sync)."""
        session = self.store.get(self.session_id)
        if session is not None:
            self._set("NAS sync", self._sync_text(session))

    def _sync_text(self, session: Session) -> str:
        if session.state is not SessionState.DONE:
            return ""
        job = self._sync_job(session.session_id) if self._sync_job is not None else None
        status = (session.result or {}).get("sync_status")
        return job_words(job, status if isinstance(status, str) else None)

    def _set(self, key: str, text: str, *, rich: bool = False) -> None:
        value = self.values[key]
        value.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
        value.setText(text)
        # Hide rows with nothing to say.
        self.rows.setRowVisible(value, bool(text))

    def _set_link(self, key: str, path: str | None) -> None:
        if not path:
            self._set(key, "")
            return
        url = QUrl.fromLocalFile(path).toString()
        self._set(key, f'<a href="{url}">{_escape(path)}</a>', rich=True)

    def _open_link(self, link: str) -> None:
        QDesktopServices.openUrl(QUrl(link))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.stop_following()
        super().closeEvent(event)

    def done(self, result: int) -> None:
        self.stop_following()
        super().done(result)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
