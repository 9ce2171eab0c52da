"""The sessions window and its table model follow the real store (no polling) and offer
the menu's actions on the selected session."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QPushButton
from pytestqt.qtbot import QtBot

from tests.qt.loop_helpers import settle
from tests.support.clock import FakeClock
from tray_app.config import Settings
from tray_app.creation.controller import CreationController
from tray_app.sessions.states import SessionKind, SessionState
from tray_app.sessions.store import Retention, SessionStore
from tray_app.ui.details_dialog import DetailsDialog
from tray_app.ui.keyboard import strip_mnemonic
from tray_app.ui.session_actions import SessionActions
from tray_app.ui.sessions_model import AGE, PHASE, STATE, TITLE, SessionsModel
from tray_app.ui.sessions_window import SessionsWindow

PROMPT = {
    "plugin": "plate_map",
    "reason": "How many samples?",
    "fields": [{"id": "n", "label": "Samples", "type": "integer", "required": True}],
    "attempt": 1,
}


def walk_to(store: SessionStore, session_id: str, state: SessionState) -> None:
    path = [
        SessionState.VALIDATING,
        SessionState.RENDERING,
        SessionState.PLUGIN_PASS,
        SessionState.CACHE_WRITE,
        SessionState.POST_VALIDATE,
        SessionState.SYNC_QUEUED,
        SessionState.DONE,
    ]
    for step in path:
        if state is SessionState.INPUT_REQUIRED and step is SessionState.CACHE_WRITE:
            store.await_input(session_id, dict(PROMPT))
            return
        outcome = {"path": "/data", "sync_status": "queued", "warnings": []}
        store.transition(session_id, step, outcome=outcome if step is SessionState.DONE else None)
        if step is state:
            return


def open_session(store: SessionStore, title: str, state: SessionState | None = None) -> str:
    session = store.open(SessionKind.RUN, {}, destination=f"/data/{title}", title=title)
    if state is not None:
        walk_to(store, session.session_id, state)
    return session.session_id


def texts(model: SessionsModel, column: int) -> list[str]:
    return [model.index(row, column).data() for row in range(model.rowCount())]


def test_model_lists_newest_first_and_coalesces_a_burst(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, store: SessionStore, clock: FakeClock
) -> None:
    first = open_session(store, "Run A")
    model = SessionsModel(store)
    assert texts(model, TITLE) == ["Run A"]

    for name in ("Run B", "Run C", "Run D"):
        clock.advance(seconds=1)
        open_session(store, name)
    walk_to(store, first, SessionState.RENDERING)
    assert model.rowCount() == 1  # nothing applied until the loop turns
    settle(qloop)

    assert texts(model, TITLE) == ["Run D", "Run C", "Run B", "Run A"]
    assert model.flush_count == 1  # four opens and two transitions: one update
    assert texts(model, PHASE)[3] == "Creating folders"


def test_model_updates_only_the_changed_row(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, store: SessionStore
) -> None:
    ids = [open_session(store, name) for name in ("Run A", "Run B", "Run C")]
    model = SessionsModel(store)
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda top, bottom, *_: changed.append((top.row(), bottom.row())))
    resets: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))

    walk_to(store, ids[1], SessionState.INPUT_REQUIRED)
    settle(qloop)

    assert changed == [(1, 1)]
    assert resets == []
    assert model.index(1, STATE).data() == "Needs input"
    assert model.index(1, PHASE).data() == "Needs input (plate_map)"


def test_evicted_sessions_leave_the_table(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, clock: FakeClock
) -> None:
    store = SessionStore(clock=clock, retention=Retention(max_finished=1))
    old = open_session(store, "Old", SessionState.DONE)
    model = SessionsModel(store)
    assert texts(model, TITLE) == ["Old"]

    open_session(store, "New", SessionState.DONE)  # over the bound: "Old" is evicted
    settle(qloop)

    assert texts(model, TITLE) == ["New"]
    assert model.row_of(old) == -1


def test_age_column_follows_the_clock_and_its_timer_runs_only_while_visible(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, store: SessionStore, clock: FakeClock
) -> None:
    open_session(store, "Run A")
    actions = SessionActions(store, None, None)
    window = SessionsWindow(actions)
    qtbot.addWidget(window)
    assert texts(window.model, AGE) == ["just now"]
    assert not window.age_timer_active

    window.show()
    assert window.age_timer_active
    clock.advance(minutes=12)
    window.model.refresh_ages()
    assert texts(window.model, AGE) == ["12 min"]

    window.hide()
    assert not window.age_timer_active


def test_actions_follow_the_selected_session(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, store: SessionStore
) -> None:
    done = open_session(store, "Finished run", SessionState.DONE)
    waiting = open_session(store, "Waiting run", SessionState.INPUT_REQUIRED)
    window = SessionsWindow(SessionActions(store, None, None))
    qtbot.addWidget(window)
    window.show()

    window.select_session(waiting)
    assert window.answer_action.isEnabled()
    assert window.cancel_action.isEnabled()
    assert window.buttons["answer"].isEnabled()
    menu = window.context_menu_for(window.model.row_of(waiting))
    assert [strip_mnemonic(a.text()) for a in menu.actions()] == [
        "Answer…",
        "Details…",
        "Cancel…",
        "Open folder",
        "Copy details",
    ]

    window.select_session(done)
    assert not window.answer_action.isEnabled()
    assert not window.cancel_action.isEnabled()
    assert not window.buttons["cancel"].isEnabled()
    menu = window.context_menu_for(window.model.row_of(done))
    assert "Answer…" not in [strip_mnemonic(a.text()) for a in menu.actions()]

    # The selected session finishing elsewhere updates the buttons.
    window.select_session(waiting)
    store.transition(waiting, SessionState.ABORTED, outcome={"code": "cancelled"})
    settle(qloop)
    assert not window.buttons["answer"].isEnabled()


def test_window_actions_open_details_and_copy(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, store: SessionStore
) -> None:
    failed = open_session(store, "Broken run")
    store.transition(failed, SessionState.VALIDATING)
    store.transition(
        failed,
        SessionState.FAILED,
        outcome={"code": "render_failed", "message": "Template exploded"},
    )
    actions = SessionActions(store, None, None)
    actions.show_sessions_window()
    window = actions.sessions_window
    assert window is not None
    window.select_session(failed)

    window.buttons["details"].click()
    dialog = actions.details[failed]
    assert isinstance(dialog, DetailsDialog)
    assert dialog.values["State"].text() == "Failed"
    assert dialog.values["Phase"].text() == "Failed while checking the request"
    assert "Template exploded" in dialog.values["Problem"].text()

    window.buttons["copy_details"].click()
    copied = QGuiApplication.clipboard().text()
    assert "Title: Broken run" in copied
    assert "State: Failed" in copied
    assert "Destination: /data/Broken run" in copied
    assert '"code": "render_failed"' in copied

    # Double-click on a finished session shows its details too (the same dialog, forward).
    window.table.activated.emit(window.model.index(window.model.row_of(failed), TITLE))
    assert list(actions.details) == [failed]
    actions.close_all()


def test_enter_on_a_waiting_session_opens_its_prompt(
    qtbot: QtBot, store: SessionStore, controller: Any, waiting: str
) -> None:
    # A real run waiting on plate_map: the prompt dialog reads its typed prompt
    # from the controller.
    actions = SessionActions(store, controller, None)
    actions.show_sessions_window()
    window = actions.sessions_window
    assert window is not None
    window.select_session(waiting)
    qtbot.keyClick(window.table, Qt.Key.Key_Return)  # Enter on the row, like a double-click
    assert waiting in actions.prompts
    prompt = actions.prompts[waiting]
    assert "sample_count" in prompt.form.editors and prompt.submit_button.isEnabled()
    actions.close_all()
    assert actions.prompts == {}
    assert actions.sessions_window is None


def test_no_tray_banner_and_close_requests_quit(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, store: SessionStore
) -> None:
    reason = "No system tray is available on this desktop, so ExLab Tray runs in this window."
    actions = SessionActions(store, None, None)
    actions.set_quit_on_close(True)
    actions.show_sessions_window(reason)
    window = actions.sessions_window
    assert window is not None
    qtbot.addWidget(window)
    assert window.banner.isVisible()
    assert window.banner.text() == reason
    assert window.empty_label.isVisible()

    with qtbot.waitSignal(actions.quit_requested, timeout=1000):
        window.close()


def test_closing_a_normal_window_does_not_quit(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, store: SessionStore
) -> None:
    actions = SessionActions(store, None, None)
    actions.show_sessions_window()
    window = actions.sessions_window
    assert window is not None
    qtbot.addWidget(window)
    assert not window.banner.isVisible()
    quits: list[bool] = []
    actions.quit_requested.connect(lambda: quits.append(True))
    window.close()
    QApplication.processEvents()
    assert quits == []


def test_new_buttons_open_one_dialog_per_kind(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    store: SessionStore,
    settings: Settings,
    tmp_path: Path,
) -> None:

    no_templates = msgspec.structs.replace(settings, template_dirs=[str(tmp_path)])
    actions = SessionActions(store, CreationController(store, no_templates), no_templates)
    actions.show_sessions_window()
    window = actions.sessions_window
    assert window is not None
    new_run = window.findChild(QPushButton, "button_new_run")
    new_run.click()
    new_run.click()
    assert list(actions.new_dialogs) == ["run"]
    dialog = actions.new_dialogs["run"]
    assert dialog.windowTitle() == "New run"
    assert dialog.error_text("template") == "No run templates are installed."
    actions.close_all()


def test_model_tooltip_shows_the_error(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, store: SessionStore
) -> None:
    failed = open_session(store, "Broken")
    store.transition(failed, SessionState.FAILED, outcome={"code": "x", "message": "disk full"})
    model = SessionsModel(store)
    assert model.index(0, STATE).data(Qt.ItemDataRole.ToolTipRole) == "disk full"


def test_details_follow_the_session_while_open(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, store: SessionStore
) -> None:
    waiting = open_session(store, "Waiting run", SessionState.INPUT_REQUIRED)
    actions = SessionActions(store, None, None)
    actions.show_details(waiting)
    dialog = actions.details[waiting]
    assert dialog.values["State"].text() == "Needs input"
    assert dialog.values["Waiting for"].text() == "plate_map: How many samples?"
    assert dialog.answer_button.isVisible()
    # A folder that is not on disk is named, not linked (a link would open nothing).
    assert dialog.values["Destination"].text() == "/data/Waiting run (not on disk)"

    store.warn(waiting, "Sync blocked: 1 problem(s)")
    store.transition(
        waiting, SessionState.ABORTED, outcome={"code": "cancelled", "message": "Cancelled."}
    )
    settle(qloop)
    assert dialog.values["State"].text() == "Cancelled"
    assert dialog.values["Warnings"].text() == "Sync blocked: 1 problem(s)"
    assert dialog.values["Problem"].text() == "Cancelled."
    assert not dialog.answer_button.isVisible()
    # The raw JSON stays behind Copy details; the dialog says it in words.
    assert '"code": "cancelled"' in dialog.outcome.toPlainText()
    assert not dialog.outcome.isVisible()
    actions.close_all()


def test_a_failures_details_are_in_words_and_an_existing_folder_is_linked(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, store: SessionStore, tmp_path: Path
) -> None:
    sid = open_session(store, "Broken run", SessionState.PLUGIN_PASS)
    session = store.get(sid)
    assert session is not None
    session.destination = str(tmp_path)
    errors = [
        {"code": "a", "field": "x", "message": "The label is too long."},
        {"code": "b", "field": "y", "message": "The operator contains a line break."},
    ]
    store.transition(
        sid,
        SessionState.FAILED,
        outcome={
            "code": "validation_failed",
            "message": "2 problems.",
            "details": {"errors": errors},
        },
    )
    actions = SessionActions(store, None, None)
    actions.show_details(sid)
    dialog = actions.details[sid]
    assert dialog.values["Problem"].text() == (
        "2 problems.\n• The label is too long.\n• The operator contains a line break."
    )
    assert not dialog.outcome.isVisible() and "{" not in dialog.values["Problem"].text()
    assert dialog.values["Destination"].text().startswith(f'<a href="file://{tmp_path}"')
    actions.close_all()


def test_details_link_the_sessions_plugin_log_once_there_is_one(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, store: SessionStore
) -> None:
    from tray_app import logs
    from tray_app.ui.details_dialog import session_details_text

    broken = open_session(store, "Broken run")
    dialog = DetailsDialog(SessionActions(store, None, None), broken)
    qtbot.addWidget(dialog)
    assert dialog.values["Plugin log"].text() == ""  # no plugin has run yet
    path = logs.append_plugin_log(
        broken, plugin="plate_map", attempt=1, status="crashed", duration_s=0.2,
        stderr="Traceback: boom\n", at=store.clock(),
    )  # fmt: skip
    store.transition(broken, SessionState.FAILED, outcome={"code": "x", "message": "boom"})
    settle(qloop)
    link = dialog.values["Plugin log"].text()
    assert link == f'<a href="file://{path}">{path}</a>'
    assert f"Plugin log: {path}" in session_details_text(store.get(broken))  # type: ignore[arg-type]
    dialog.close()
