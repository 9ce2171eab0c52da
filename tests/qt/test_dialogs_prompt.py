"""The prompt dialog against a real store, a real controller and the real plate_map plugin:
fill, inline errors (the controller's, through the dialog), submit, a second prompt, each cancel
choice, the session ending while open, and heartbeats only while open."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
)
from pytestqt.qtbot import QtBot

from tests.qt.dialog_fixtures import is_alive, open_prompt
from tests.qt.loop_helpers import run, settle, wait_until
from tests.support.clock import FakeClock
from tray_app.creation.errors import CreationError
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import SessionStore
from tray_app.ui.keyboard import strip_mnemonic

pytestmark = pytest.mark.usefixtures("qtbot")


def state_of(store: SessionStore, session_id: str) -> SessionState:
    session = store.get(session_id)
    assert session is not None
    return session.state


def test_the_form_is_built_from_the_pending_prompt(
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    waiting: str,
    widgets: list[Any],
) -> None:
    dialog = open_prompt(store, controller, waiting, widgets)
    assert dialog.windowTitle() == "Input needed: Run 'Plate 1' of Alpha (TECAN)"
    assert "number of samples" in dialog.reason.text()
    assert dialog.meta.text().startswith("Asked by plugin plate_map")
    editors = dialog.form.editors
    assert isinstance(editors["sample_count"].widget, QSpinBox)
    assert isinstance(editors["plate_type"].widget, QComboBox)
    assert isinstance(editors["prep_date"].widget, QDateEdit)
    assert isinstance(editors["include_controls"].widget, QCheckBox)
    assert isinstance(editors["notes"].widget, QPlainTextEdit)
    label = dialog.findChild(QLabel, "label_sample_count")
    assert strip_mnemonic(label.text()) == "Number of samples *"
    assert dialog.findChild(QLabel, "hint_prep_date").text() == "YYYY-MM-DD"
    # Defaults from the plugin: plate type and today's date; the count is left to the person.
    assert dialog.form.values() == {
        "plate_type": "96-well",
        "prep_date": QDate.currentDate().toString("yyyy-MM-dd"),
        "include_controls": False,
    }
    assert dialog.submit_button.isDefault()
    assert editors["sample_count"].widget.hasFocus() or not dialog.isActiveWindow()


def test_a_missing_answer_is_refused_by_the_controller_and_shown_inline(
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    waiting: str,
    widgets: list[Any],
) -> None:
    dialog = open_prompt(store, controller, waiting, widgets)
    dialog.submit_button.click()
    # The dialog does not judge the answers: the controller's one validator does.
    wait_until(qloop, lambda: bool(dialog.form.error_text("sample_count")))
    assert dialog.form.error_text("sample_count") == "Required"
    assert dialog.general_error.text() == "Please correct the marked fields."
    assert state_of(store, waiting) is SessionState.INPUT_REQUIRED
    assert dialog.submit_button.isEnabled() and dialog.banner.isHidden()
    # Editing clears the general line; a good answer then goes through.
    dialog.form.editors["sample_count"].widget.setValue(8)
    assert dialog.general_error.isHidden()


def test_answers_the_controller_refuses_are_shown_next_to_their_fields(
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    waiting: str,
    widgets: list[Any],
) -> None:
    dialog = open_prompt(store, controller, waiting, widgets)
    dialog.form.editors["sample_count"].widget.setValue(8)
    notes = dialog.form.editors["notes"].widget
    assert isinstance(notes, QPlainTextEdit)
    notes.setPlainText("x" * 2001)  # the plugin allows 2000 characters
    dialog.submit_button.click()
    wait_until(qloop, lambda: bool(dialog.form.error_text("notes")))
    assert dialog.form.error_text("notes") == "Must be at most 2000 characters"
    assert dialog.form.error_text("sample_count") == ""
    assert state_of(store, waiting) is SessionState.INPUT_REQUIRED
    assert is_alive(dialog) and dialog.submit_button.isEnabled()
    # The same validator answers the API and the CLI: the same words come back there.
    with pytest.raises(CreationError) as refused:
        run(qloop, controller.resume(waiting, {"sample_count": 8, "notes": "x" * 2001}))
    assert refused.value.details == {"fields": {"notes": "must be at most 2000 characters"}}


def test_submit_resumes_and_the_dialog_closes_when_the_session_moves_on(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    waiting: str,
    widgets: list[Any],
) -> None:
    dialog = open_prompt(store, controller, waiting, widgets)
    released: list[str] = []
    dialog.session_released.connect(released.append)
    spin = dialog.form.editors["sample_count"].widget
    assert isinstance(spin, QSpinBox)
    spin.setValue(24)
    dialog.form.editors["notes"].widget.setPlainText("first plate")
    qtbot.keyClick(spin, Qt.Key.Key_Return)  # Enter submits
    assert not dialog.submit_button.isEnabled()  # in flight

    wait_until(qloop, lambda: state_of(store, waiting) is SessionState.DONE)
    wait_until(qloop, lambda: released == [waiting])
    destination = store.get(waiting).destination  # type: ignore[union-attr]
    assert destination is not None
    plate_map = (Path(destination) / "plate_map.csv").read_text()
    assert "S024" in plate_map and "S025" not in plate_map


def test_a_second_prompt_rebuilds_the_form(
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    waiting: str,
    widgets: list[Any],
) -> None:
    dialog = open_prompt(store, controller, waiting, widgets)
    first_form = dialog.form
    dialog.form.editors["sample_count"].widget.setValue(100)  # too many for 96 wells
    dialog.submit_button.click()

    wait_until(qloop, lambda: dialog.attempt == 2)
    assert dialog.form is not first_form
    assert "holds 96 samples" in dialog.reason.text()
    assert "attempt 2" in dialog.meta.text()
    assert dialog.form.values()["sample_count"] == 100  # what was answered stays filled
    assert dialog.submit_button.isEnabled()
    assert dialog.banner.isHidden()

    combo = dialog.form.editors["plate_type"].widget
    assert isinstance(combo, QComboBox)
    combo.setCurrentIndex(combo.findData("384-well"))
    dialog.submit_button.click()
    wait_until(qloop, lambda: state_of(store, waiting) is SessionState.DONE)
    wait_until(qloop, lambda: not is_alive(dialog))


@pytest.mark.parametrize("discard", [False, True], ids=["keep-files", "discard-files"])
def test_cancel_session_keeps_or_discards_the_files(
    discard: bool,
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    waiting: str,
    widgets: list[Any],
) -> None:
    destination = Path(store.get(waiting).destination or "")  # type: ignore[union-attr]
    assert destination.is_dir()
    dialog = open_prompt(store, controller, waiting, widgets)
    dialog.cancel_button.click()
    box = dialog.confirm_box
    assert box is not None and box.isVisible()
    assert [b.text() for b in box.buttons()] != []
    box.findChild(QPushButton, "discard_files" if discard else "keep_files").click()

    wait_until(qloop, lambda: state_of(store, waiting) is SessionState.ABORTED)
    wait_until(qloop, lambda: not is_alive(dialog))
    session = store.get(waiting)
    assert session is not None and session.result is not None
    assert session.result["code"] == "cancelled"
    wait_until(qloop, lambda: destination.exists() is not discard)


def test_keep_editing_goes_back_without_cancelling(
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    waiting: str,
    widgets: list[Any],
) -> None:
    dialog = open_prompt(store, controller, waiting, widgets)
    dialog.cancel_button.click()
    box = dialog.confirm_box
    assert box is not None
    assert box.escapeButton() is box.findChild(QPushButton, "keep_editing")
    box.findChild(QPushButton, "keep_editing").click()
    settle(qloop)
    assert state_of(store, waiting) is SessionState.INPUT_REQUIRED
    assert is_alive(dialog)
    assert dialog.submit_button.isEnabled()


def test_escape_closes_without_cancelling(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    waiting: str,
    widgets: list[Any],
) -> None:
    dialog = open_prompt(store, controller, waiting, widgets)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    settle(qloop)
    assert not is_alive(dialog)
    assert state_of(store, waiting) is SessionState.INPUT_REQUIRED


def test_the_gc_ending_the_session_is_announced_and_the_dialog_closes(
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    clock: FakeClock,
    waiting: str,
    widgets: list[Any],
) -> None:
    dialog = open_prompt(store, controller, waiting, widgets, close_delay_ms=400)
    clock.advance(hours=2)  # no heartbeat for two hours of (fake) time
    report = store.gc_once()
    assert report.abandoned == [waiting]
    settle(qloop)

    assert dialog.banner.isVisible()
    assert dialog.banner.text().startswith("Nobody answered in time")
    assert not dialog.submit_button.isEnabled()
    assert not dialog.form.isEnabled()
    wait_until(qloop, lambda: not is_alive(dialog))


def test_answered_elsewhere_is_announced(
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    waiting: str,
    widgets: list[Any],
) -> None:
    dialog = open_prompt(store, controller, waiting, widgets, close_delay_ms=400)
    run(qloop, controller.resume(waiting, {"sample_count": 4}))  # e.g. from the CLI
    wait_until(qloop, dialog.banner.isVisible)
    assert "answered elsewhere" in dialog.banner.text()
    wait_until(qloop, lambda: not is_alive(dialog))


def test_heartbeats_only_while_open(
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    clock: FakeClock,
    waiting: str,
    widgets: list[Any],
) -> None:
    session = store.get(waiting)
    assert session is not None
    clock.advance(minutes=5)
    dialog = open_prompt(store, controller, waiting, widgets, heartbeat_ms=20)
    assert session.last_heartbeat == clock.now  # on open
    assert dialog.heartbeat_active

    clock.advance(minutes=5)
    wait_until(qloop, lambda: session.last_heartbeat == clock.now)  # on the timer

    dialog.close()
    clock.advance(minutes=5)
    settle(qloop, turns=10)  # several timer periods
    assert session.last_heartbeat < clock.now
    # Without heartbeats the GC now abandons it once the threshold passes.
    clock.advance(hours=1)
    assert store.gc_once().abandoned == [waiting]


def test_tab_order_runs_through_the_fields_then_the_buttons(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    waiting: str,
    widgets: list[Any],
) -> None:
    dialog = open_prompt(store, controller, waiting, widgets)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=2000)
    dialog.form.editors["sample_count"].widget.setFocus()
    order: list[str] = []
    for _ in range(12):
        focused = QApplication.focusWidget()
        assert focused is not None
        name = focused.objectName() or focused.parent().objectName()
        if not order or order[-1] != name:  # Tab walks a date's sections first (Qt's way)
            order.append(name)
        qtbot.keyClick(focused, Qt.Key.Key_Tab)
    assert order[:8] == [
        "field_sample_count",
        "field_plate_type",
        "field_prep_date",
        "field_include_controls",
        "field_notes",
        "submit",
        "close",
        "cancel_session",
    ]
    names = [editor.widget.accessibleName() for editor in dialog.form.editors.values()]
    assert names == [
        "Number of samples",
        "Plate type",
        "Preparation date",
        "Include controls",
        "Notes",
    ]


def test_a_session_this_controller_does_not_drive_cannot_be_answered_here(
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    widgets: list[Any],
) -> None:
    # Opened on the store directly (as a program written against the seed's store
    # would): waiting, but on no pipeline of this app, so nothing here could resume it.
    session = store.open("run", req={"label": "L"}, title="Foreign run")
    for state in (SessionState.VALIDATING, SessionState.RENDERING, SessionState.PLUGIN_PASS):
        store.transition(session.session_id, state)
    store.await_input(session.session_id, {"plugin": "p", "reason": "r", "fields": []})
    dialog = open_prompt(store, controller, session.session_id, widgets)
    assert dialog.general_error.text() == "This question cannot be answered here."
    assert not dialog.submit_button.isEnabled()
    assert dialog.form.editors == {}
