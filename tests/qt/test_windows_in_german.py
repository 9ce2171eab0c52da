"""The tray's windows in German, offscreen: with the shipped German catalog installed, the
prompt dialog (on a real run whose plugin asks), New project, New run, the sessions window
and the cancel question show no common English word: every label, button, action, tooltip,
placeholder, title, column header and cell is read. What the plugin and the templates say
(its question, its fields, the templates' titles) is data, set aside first."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from tests.qt.dialog_fixtures import EQUIPMENT, open_prompt, start_waiting_run
from tests.qt.loop_helpers import settle
from tests.support.catalogs import english_words
from tray_app import i18n
from tray_app.config import Settings
from tray_app.creation.wording import state_words
from tray_app.sessions.store import SessionStore
from tray_app.ui.cancel_confirm import ask_cancel
from tray_app.ui.new_session_dialog import NewSessionDialog
from tray_app.ui.session_actions import SessionActions
from tray_app.ui.sessions_model import STATE
from tray_app.ui.sessions_window import RESTING_STATES

pytestmark = pytest.mark.usefixtures("qtbot")


@pytest.fixture(autouse=True)
def german() -> Iterator[None]:
    assert i18n.install("de") == "de"
    yield
    i18n.install("en")


def texts_of(window: QWidget) -> list[str]:
    """Everything ``window`` shows or says to a screen reader, as text."""
    out = [window.windowTitle()]
    # The templates' own titles and questions (New run's "Template variables") are data.
    box = getattr(window, "variables_box", None)
    if isinstance(box, QGroupBox):
        out.append(box.title())
    template_widgets = set(box.findChildren(QWidget)) if isinstance(box, QGroupBox) else set()
    for widget in [window, *window.findChildren(QWidget)]:
        if widget.objectName() == "field_template" or widget in template_widgets:
            continue
        out += [widget.toolTip(), widget.accessibleName(), widget.accessibleDescription()]
        if isinstance(widget, QLabel | QAbstractButton):
            out.append(widget.text())
        if isinstance(widget, QLineEdit):
            out.append(widget.placeholderText())
        if isinstance(widget, QPlainTextEdit):
            out.append(widget.placeholderText())
        if isinstance(widget, QGroupBox):
            out.append(widget.title())
        if isinstance(widget, QComboBox):
            out += [widget.itemText(i) for i in range(widget.count())]
    for action in window.actions():
        out += [action.text(), action.toolTip()]
    return [t for t in out if t]


def assert_no_english(texts: list[str], data: list[str]) -> None:
    for text in texts:
        rest = text
        for item in sorted(data, key=len, reverse=True):
            rest = rest.replace(item, " ")
        rest = re.sub(r"\S*/\S*", " ", rest)  # paths: data
        assert not english_words(rest), f"English in {text!r}: {english_words(rest)}"


def plugin_words(store: SessionStore, session_id: str) -> list[str]:
    session = store.get(session_id)
    assert session is not None and session.pending_input
    prompt = session.pending_input
    words = [str(prompt.get("reason") or ""), str(prompt.get("plugin") or "")]
    for field in prompt.get("fields") or []:
        words += [str(field.get(k) or "") for k in ("label", "hint", "id")]
        words += [str(o) for o in field.get("options") or []]
    return [w for w in words if w]


def test_the_windows_read_in_german(
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    settings: Settings,
    widgets: list[Any],
) -> None:
    session_id = start_waiting_run(qloop, controller, store, settings)
    data = [*plugin_words(store, session_id), "Plate 1", "Alpha", "ada", "plate_map"]
    data += [e.id for e in EQUIPMENT] + [e.name for e in EQUIPMENT]

    prompt = open_prompt(store, controller, session_id, widgets)
    settle(qloop)
    assert prompt.windowTitle().startswith("Eingabe nötig: Messung 'Plate 1' von Alpha")
    shown = texts_of(prompt)

    for kind in ("project", "run"):
        dialog = NewSessionDialog(kind, controller, settings)
        widgets.append(dialog)
        dialog.show()
        settle(qloop)
        shown += texts_of(dialog)

    actions = SessionActions(store, controller, settings)
    actions.show_sessions_window()
    window = actions.sessions_window
    assert window is not None
    try:
        settle(qloop)
        shown += texts_of(window)
        model = window.model
        for column in range(model.columnCount()):
            shown.append(str(model.headerData(column, Qt.Orientation.Horizontal)))
            for row in range(model.rowCount()):
                for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                    value = model.data(model.index(row, column), role)
                    if isinstance(value, str):
                        shown.append(value)
        assert "Sitzungen" in shown and "Zustand" in shown
        # No German heading is clipped: each section is as wide as its text needs (the
        # style's own measure, with padding and the sort arrow); the last one stretches.
        header = window.table.horizontalHeader()
        for column in range(model.columnCount() - 1):
            heading = model.headerData(column, Qt.Orientation.Horizontal)
            assert header.sectionSize(column) >= header.sectionSizeHint(column), heading
            assert header.sectionSize(column) > header.fontMetrics().horizontalAdvance(heading)
        # Nor a state's words ("Wartet auf Eingabe" was cut to "Wartet auf Ei…").
        metrics = window.table.fontMetrics()
        for state in RESTING_STATES:
            assert header.sectionSize(STATE) > metrics.horizontalAdvance(state_words(state))
    finally:
        actions.close_all()

    box = ask_cancel(None, "Messung", lambda _discard: None)
    try:
        shown += [box.windowTitle(), box.text(), box.informativeText()]
        shown += [b.text() for b in box.buttons()]
    finally:
        box.close()
    assert_no_english(shown, data)
