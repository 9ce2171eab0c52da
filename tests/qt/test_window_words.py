"""Words of the sessions window and the cancel question (issue 13, item 9)."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from tray_app.config import default_settings
from tray_app.sessions.store import SessionStore
from tray_app.ui.cancel_confirm import ask_cancel
from tray_app.ui.session_actions import SessionActions


def test_the_cancel_question_nests_no_quotes_and_says_both_choices_cancel(
    qapp: QApplication,
) -> None:
    chosen: list[bool] = []
    box = ask_cancel(None, "Run 'plate 7' of Assay_Y (TECAN_1)", chosen.append)
    try:
        assert box.text() == "Cancel this session?\nRun 'plate 7' of Assay_Y (TECAN_1)"
        assert "“" not in box.text() and '"' not in box.text()
        labels = [b.text().replace("&", "") for b in box.buttons()]
        assert "Cancel, keep files" in labels and "Cancel, delete files" in labels
        assert "Either choice cancels it" in box.informativeText()
    finally:
        box.close()


def test_the_sessions_window_title_names_the_app_once(qapp: QApplication) -> None:
    qapp.setApplicationDisplayName("ExLab Tray")
    actions = SessionActions(SessionStore(), None, default_settings())  # type: ignore[arg-type]
    actions.show_sessions_window()
    window = actions.sessions_window
    assert window is not None
    try:
        assert window.windowTitle() == "Sessions"  # Qt shows "Sessions — ExLab Tray"
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QStyleOptionViewItem

        from tray_app.ui.sessions_model import DESTINATION

        # Phases lose their end when they must; folders their middle (both ends tell).
        assert window.table.textElideMode() is Qt.TextElideMode.ElideRight
        option = QStyleOptionViewItem()
        delegate = window.table.itemDelegateForColumn(DESTINATION)
        delegate.initStyleOption(option, window.model.index(0, DESTINATION))  # type: ignore[attr-defined]
        assert option.textElideMode is Qt.TextElideMode.ElideMiddle
    finally:
        actions.close_all()


def test_destinations_show_the_part_that_tells_runs_apart(qapp: QApplication) -> None:
    from pathlib import Path

    from PySide6.QtCore import Qt

    from tray_app.sessions.states import SessionKind
    from tray_app.ui.sessions_model import COLUMNS, SessionsModel

    store = SessionStore()
    root = Path("/lab/ExLab")
    inside = f"{root}/DEMO/Assay/Runs/Run_2026-12-01T08-41-21"
    store.open(SessionKind.RUN, {"project_name": "Assay"}, destination=inside, title="Run a")
    store.open(SessionKind.RUN, {"project_name": "X"}, destination="/elsewhere/Run_1", title="b")
    model = SessionsModel(store, root=root)
    column = COLUMNS.index("Destination")
    shown = {model.index(r, column).data() for r in range(model.rowCount())}
    assert shown == {"DEMO/Assay/Runs/Run_2026-12-01T08-41-21", "/elsewhere/Run_1"}
    tips = {model.index(r, column).data(Qt.ItemDataRole.ToolTipRole) for r in range(2)}
    assert inside in tips
