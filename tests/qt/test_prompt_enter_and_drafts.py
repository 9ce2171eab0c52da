"""The prompt dialog as the issue met it: Tab to Close, click into a field, type, Enter: the
answer is sent (Enter submits whenever focus is in a field). And closing the dialog keeps
what was typed for the next dialog of that session, until the session stops waiting."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QSpinBox

from tests.qt.dialog_fixtures import is_alive, open_prompt
from tests.qt.loop_helpers import run, settle, wait_until
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import SessionStore
from tray_app.ui.prompt_dialog import PromptDialog
from tray_app.ui.prompt_drafts import PromptDrafts

pytestmark = pytest.mark.usefixtures("qtbot")


def open_dialog(
    store: SessionStore, controller: Any, sid: str, widgets: list[Any], drafts: PromptDrafts
) -> PromptDialog:
    dialog = open_prompt(store, controller, sid, widgets, drafts=drafts)
    dialog.activateWindow()
    return dialog


def samples(dialog: PromptDialog) -> QSpinBox:
    widget = dialog.form.editors["sample_count"].widget
    assert isinstance(widget, QSpinBox)
    return widget


def test_enter_in_a_field_submits_even_after_tabbing_to_close(
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    waiting: str,
    widgets: list[Any],
) -> None:
    drafts = PromptDrafts(store)
    dialog = open_dialog(store, controller, waiting, widgets, drafts)
    settle(qloop)
    dialog.form.editors["plate_type"].set_value("96-well")
    dialog.form.editors["prep_date"].set_value("2026-01-05")
    dialog.close_button.setFocus(Qt.FocusReason.TabFocusReason)  # Tab to Close
    assert dialog.close_button.hasFocus()
    spin = samples(dialog)
    QTest.mouseClick(spin.lineEdit(), Qt.MouseButton.LeftButton)  # click into the field
    spin.setFocus(Qt.FocusReason.MouseFocusReason)
    spin.lineEdit().selectAll()
    QTest.keyClicks(spin.lineEdit(), "12")
    QTest.keyClick(spin.lineEdit(), Qt.Key.Key_Return)
    wait_until(qloop, lambda: store.get(waiting).state is not SessionState.INPUT_REQUIRED)
    wait_until(qloop, lambda: store.get(waiting).is_terminal())
    session = store.get(waiting)
    assert session is not None and session.state is SessionState.DONE, session.outcome
    plate_map = Path(session.outcome["path"]) / "plate_map.csv"
    text = plate_map.read_text(encoding="utf-8")
    assert "S012" in text and "S013" not in text  # the 12 typed before Enter


def test_what_was_typed_survives_closing_until_the_session_stops_waiting(
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    waiting: str,
    widgets: list[Any],
) -> None:
    drafts = PromptDrafts(store)
    dialog = open_dialog(store, controller, waiting, widgets, drafts)
    settle(qloop)
    spin = samples(dialog)
    spin.setFocus()
    spin.lineEdit().selectAll()
    QTest.keyClicks(spin.lineEdit(), "300")
    dialog.form.editors["notes"].set_value("row H is cracked")
    QTest.keyClick(dialog, Qt.Key.Key_Escape)  # closes; the session keeps waiting
    wait_until(qloop, lambda: not is_alive(dialog))
    assert store.get(waiting).state is SessionState.INPUT_REQUIRED
    draft = drafts.get(waiting)
    assert (draft["sample_count"], draft["notes"]) == (300, "row H is cracked")

    again = open_dialog(store, controller, waiting, widgets, drafts)
    settle(qloop)
    assert samples(again).value() == 300
    assert again.form.editors["notes"].value() == "row H is cracked"
    again.close()

    # Answered elsewhere (the CLI, the API): the draft is of no use any more.
    answers = {"sample_count": 8, "plate_type": "96-well", "prep_date": "2026-01-05"}
    run(qloop, controller.resume(waiting, answers))
    wait_until(qloop, lambda: store.get(waiting).state is not SessionState.INPUT_REQUIRED)
    assert drafts.get(waiting) == {}
    drafts.close()
