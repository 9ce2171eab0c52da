"""The prompt dialog keeps its whole form in view: after a "required" refusal the form
grows by its error lines and the dialog grows with it (no scrollbar, no clipped hint)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.qt.dialog_fixtures import open_prompt
from tests.qt.loop_helpers import settle, wait_until
from tray_app.sessions.store import SessionStore

pytestmark = pytest.mark.usefixtures("qtbot")


def test_a_refusal_grows_the_dialog_instead_of_scrolling(
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    waiting: str,
    widgets: list[Any],
) -> None:
    dialog = open_prompt(store, controller, waiting, widgets)
    settle(qloop)
    assert not dialog.scroll_area.verticalScrollBar().isVisible()
    before = dialog.height()
    dialog.submit()  # Number of samples left empty: refused as required
    wait_until(qloop, dialog.form._errors["sample_count"].isVisible)
    settle(qloop)
    assert dialog.height() > before
    bar = dialog.scroll_area.verticalScrollBar()
    assert not bar.isVisible() and bar.maximum() == 0  # nothing hidden below the fold
