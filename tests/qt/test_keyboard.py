"""Keyboard operation end to end: Alt+letter mnemonics move to a field or press a button,
Shift+Tab walks back, Enter submits or opens, and the sessions window's actions have keys.

Real key events through Qt (QTest), on the real dialogs with a real controller.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from tests.qt.dialog_fixtures import is_alive, open_prompt
from tests.qt.loop_helpers import settle, wait_until
from tray_app.config import Settings
from tray_app.sessions.states import SessionKind, SessionState
from tray_app.sessions.store import SessionStore
from tray_app.ui.keyboard import MnemonicPicker, parse_mnemonic, strip_mnemonic
from tray_app.ui.new_session_dialog import NewSessionDialog
from tray_app.ui.session_actions import SessionActions

ALT = Qt.KeyboardModifier.AltModifier
CTRL = Qt.KeyboardModifier.ControlModifier


def activate(qtbot: QtBot, window: QWidget) -> None:
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)


def mnemonic_of(text: str) -> str:
    letter = parse_mnemonic(text).letter
    assert letter, f"no mnemonic in {text!r}"
    return letter.lower()


def key_for(letter: str) -> Qt.Key:
    return Qt.Key(ord(letter.upper()))


def test_mnemonics_never_clash_and_prefer_word_starts() -> None:
    picker = MnemonicPicker(("s", "o", "c"))
    marked = [picker.mark(t) for t in ("Sample count", "Operator", "Notes", "R&D code", "Cc")]
    assert marked == ["S&ample count", "O&perator", "&Notes", "&R&&D code", "Cc"]
    letters = [mnemonic_of(m) for m in marked[:4]]
    assert len(set(letters)) == 4 and not {"s", "o", "c"} & set(letters)
    assert strip_mnemonic("&R&&D code") == "R&D code"


def test_the_prompt_dialog_by_keyboard_alone(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    waiting: str,
    widgets: list[Any],
) -> None:
    dialog = open_prompt(store, controller, waiting, widgets, show=False)
    activate(qtbot, dialog)
    count = dialog.form.editors["sample_count"].widget
    assert QApplication.focusWidget() is count  # the first field has the focus on opening

    # Alt+<letter> of each label moves to its field; the letters are all different.
    letters: dict[str, str] = {}
    for field_id, editor in dialog.form.editors.items():
        label = dialog.findChild(QLabel, f"label_{field_id}")
        text = label.text() if label is not None and label.buddy() else editor.widget.text()
        letters[field_id] = mnemonic_of(text)
    assert len(set(letters.values())) == len(letters)
    assert not set(letters.values()) & {"s", "o", "c"}  # the buttons' letters
    notes = dialog.form.editors["notes"].widget
    qtbot.keyClick(dialog, key_for(letters["notes"]), ALT)
    assert QApplication.focusWidget() is notes

    # Shift+Tab walks back through the fields.
    qtbot.keyClick(notes, Qt.Key.Key_Backtab)
    assert QApplication.focusWidget() is dialog.form.editors["include_controls"].widget

    # Enter in a field submits: the refused (missing) answer is named, the focus goes to it.
    qtbot.keyClick(count, Qt.Key.Key_Return)
    wait_until(qloop, lambda: bool(dialog.form.error_text("sample_count")))
    assert QApplication.focusWidget() is count
    qtbot.keyClicks(count, "12")

    # Alt+C asks to cancel the session (without blocking); Escape in that question keeps it.
    # A button's mnemonic clicks it the way Qt animates a click: a moment later.
    qtbot.keyClick(dialog, Qt.Key.Key_C, ALT)
    wait_until(qloop, lambda: dialog.confirm_box is not None)
    assert dialog.confirm_box is not None and dialog.confirm_box.isVisible()
    choices = {b.text() for b in dialog.confirm_box.buttons()}
    assert {"Cancel, &keep files", "Cancel, &delete files"} <= choices  # Alt+K, Alt+D
    qtbot.keyClick(dialog.confirm_box, Qt.Key.Key_Escape)
    settle(qloop)
    assert store.get(waiting).state is SessionState.INPUT_REQUIRED  # type: ignore[union-attr]

    # Alt+O closes; the session keeps waiting.
    activate(qtbot, dialog)
    qtbot.keyClick(dialog, Qt.Key.Key_O, ALT)
    wait_until(qloop, lambda: not is_alive(dialog))
    assert store.get(waiting).state is SessionState.INPUT_REQUIRED  # type: ignore[union-attr]


def test_new_run_by_keyboard_alone(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    settings: Settings,
    widgets: list[Any],
) -> None:
    dialog = NewSessionDialog("run", controller, settings)
    widgets.append(dialog)  # it deletes itself on close
    activate(qtbot, dialog)
    # Tab runs down the form in reading order, then to Create and Cancel.
    order = []
    QWidget.setFocus(dialog.equipment)
    for _ in range(11):
        focused = QApplication.focusWidget()
        assert focused is not None
        owner = focused if focused.objectName() else focused.parentWidget()
        order.append(owner.objectName() if owner is not None else "")
        qtbot.keyClick(focused, Qt.Key.Key_Tab)
    assert order[:7] == [
        "field_equipment_id",
        "field_project_name",
        "field_run_kind",
        "field_template",
        "field_label",
        "field_operator",
        "field_objective",
    ]
    # Then the template's own variables (if it has any), then the buttons.
    rest = order[7 : order.index("cancel") + 1]
    assert rest[-2:] == ["create", "cancel"]
    assert all(name.startswith("field_") for name in rest[:-2])

    # Alt+L goes to Label; Enter there presses Create (not Cancel, which Tab passed last),
    # and the missing inputs are named.
    qtbot.keyClick(dialog, Qt.Key.Key_L, ALT)
    assert QApplication.focusWidget() is dialog.label
    qtbot.keyClick(dialog.label, Qt.Key.Key_Return)
    assert dialog.error_text("project_name") == "Give the project a name."
    # Escape closes it.
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    settle(qloop)
    assert not is_alive(dialog)


def open_session(store: SessionStore, title: str, state: SessionState) -> str:
    session = store.open(SessionKind.RUN, {"project_name": "P"}, title=title)
    session.destination = f"/data/{title}"
    path = [SessionState.VALIDATING, SessionState.RENDERING, SessionState.PLUGIN_PASS]
    for step in path:
        store.transition(session.session_id, step)
        if step is state:
            return session.session_id
    store.transition(session.session_id, state, outcome={"code": "x", "message": "broke"})
    return session.session_id


@pytest.mark.parametrize("keys", ["enter", "ctrl+i", "alt+d"])
def test_the_sessions_window_opens_details_from_the_keyboard(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, store: SessionStore, keys: str
) -> None:
    broken = open_session(store, "Broken run", SessionState.FAILED)
    actions = SessionActions(store, None, None)
    actions.show_sessions_window()
    window = actions.sessions_window
    assert window is not None
    activate(qtbot, window)
    # Opening selects the first row and puts the focus on the table.
    assert window.selected_session_id() == broken
    assert QApplication.focusWidget() is window.table
    if keys == "enter":
        qtbot.keyClick(window.table, Qt.Key.Key_Return)
    elif keys == "ctrl+i":
        qtbot.keyClick(window.table, Qt.Key.Key_I, CTRL)
    else:
        qtbot.keyClick(window, Qt.Key.Key_D, ALT)
    wait_until(qloop, lambda: list(actions.details) == [broken])
    actions.close_all()


def test_the_sessions_windows_actions_have_keys(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, store: SessionStore
) -> None:
    live = open_session(store, "Live run", SessionState.PLUGIN_PASS)
    actions = SessionActions(store, None, None)
    actions.show_sessions_window()
    window = actions.sessions_window
    assert window is not None
    activate(qtbot, window)
    tips = {b.objectName(): b.toolTip() for b in window.findChildren(QPushButton)}
    assert tips["button_cancel"] == "Cancel… (Del)"
    assert tips["button_copy_details"] == "Copy details (Ctrl+C)"
    assert tips["button_new_run"] == "New run… (Ctrl+Shift+N)"
    # Delete on a live session asks whether to cancel it.
    qtbot.keyClick(window.table, Qt.Key.Key_Delete)
    settle(qloop)
    assert live in actions.confirm_boxes
    actions.confirm_boxes[live].close()
    # Ctrl+W closes the window.
    activate(qtbot, window)
    qtbot.keyClick(window.table, Qt.Key.Key_W, CTRL)
    assert not window.isVisible()
    actions.close_all()
