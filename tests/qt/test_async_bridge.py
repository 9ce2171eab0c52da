"""The coroutine bridge's hand-back: results and errors reach their callbacks, a deleted
owner's callbacks are skipped, and a coroutine's bug is logged. (The wording these views
share is tested without Qt: tests/unit/creation/test_wording.py.)"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from PySide6.QtWidgets import QWidget

from tests.qt.loop_helpers import settle, wait_until
from tray_app.creation.errors import CreationError
from tray_app.ui.async_bridge import error_message, in_flight_count, run_async


def test_bridge_hands_back_results_and_errors(qtbot: Any, qloop: asyncio.AbstractEventLoop) -> None:
    results: list[object] = []
    errors: list[BaseException] = []

    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    async def refuse() -> int:
        raise CreationError("not_awaiting_input", "Session x is not waiting for input.")

    run_async(answer(), on_result=results.append, on_error=errors.append)
    run_async(refuse(), on_result=results.append, on_error=errors.append)
    assert in_flight_count() == 2
    settle(qloop)
    assert results == [42]
    assert [error_message(e) for e in errors] == ["Session x is not waiting for input."]
    assert in_flight_count() == 0
    assert error_message(KeyError("k")).startswith("Something went wrong (KeyError)")


def test_bridge_skips_callbacks_of_a_deleted_owner_and_logs_bugs(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    owner = QWidget()
    called: list[object] = []
    finished: list[str] = []

    async def slow() -> str:
        await asyncio.sleep(0.02)
        finished.append("late")  # the positive event: the coroutine did run to its end
        return "late"

    async def broken() -> None:
        raise RuntimeError("bug in a coroutine")

    run_async(slow(), on_result=called.append, owner=owner)
    owner.deleteLater()
    with caplog.at_level(logging.ERROR, logger="tray_app.ui.async_bridge"):
        run_async(broken(), what="a broken thing")
        wait_until(qloop, lambda: bool(finished) and in_flight_count() == 0)
    # Only now does "no callback" mean something: the result came and was dropped.
    assert finished == ["late"]
    assert called == []
    assert "a broken thing failed" in caplog.text
