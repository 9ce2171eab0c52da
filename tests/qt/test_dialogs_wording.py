"""The wording every view shares (states, phases, ages) and the coroutine bridge's hand-back."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from PySide6.QtWidgets import QWidget

from tests.qt.dialog_fixtures import (  # noqa: F401 - fixtures used by name
    qloop_fixture,
)
from tests.qt.loop_helpers import settle
from tests.support.clock import FakeClock
from tray_app.creation.errors import CreationError
from tray_app.sessions.states import SessionKind, SessionState
from tray_app.sessions.store import SessionStore
from tray_app.ui.async_bridge import error_message, in_flight_count, run_async
from tray_app.ui.wording import describe_age, phase_in_words, session_title, state_in_words


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "just now"),
        (4.9, "just now"),
        (45, "45 s"),
        (180, "3 min"),
        (7300, "2 h"),
        (47 * 3600, "47 h"),
        (5 * 86400, "5 d"),
        (-3, "just now"),
    ],
)
def test_describe_age(seconds: float, words: str) -> None:
    assert describe_age(seconds) == words


def test_every_state_has_words() -> None:
    words = {state: state_in_words(state) for state in SessionState}
    assert all(words.values())
    assert len(set(words.values())) == len(words)  # no two states read the same
    assert state_in_words("input_required") == "Needs input"


def test_phase_in_words_follows_a_session(store: SessionStore, clock: FakeClock) -> None:
    session = store.open(SessionKind.RUN, {}, title="")
    sid = session.session_id
    assert session_title(session) == f"Run {sid[-6:]}"
    assert phase_in_words(session) == "Waiting to start"
    store.transition(sid, SessionState.VALIDATING)
    assert phase_in_words(session) == "Validating inputs"
    store.transition(sid, SessionState.RENDERING)
    assert phase_in_words(session) == "Rendering template"
    store.transition(sid, SessionState.PLUGIN_PASS)
    assert phase_in_words(session) == "Running plugins"
    store.report_progress(sid, 2, 4, "plate_map")
    assert phase_in_words(session) == "Running plugins (2 of 4: plate_map)"
    store.await_input(sid, {"plugin": "plate_map", "reason": "?", "fields": [], "attempt": 1})
    assert phase_in_words(session) == "Waiting for your input (plate_map)"
    clock.advance(hours=2)
    assert store.gc_once().abandoned == [sid]
    assert phase_in_words(session) == "Abandoned: no answer in time"

    failed = store.open(SessionKind.PROJECT, {}, title="P")
    store.transition(failed.session_id, SessionState.VALIDATING)
    store.transition(failed.session_id, SessionState.FAILED, outcome={"code": "x"})
    assert phase_in_words(failed) == "Failed while validating inputs"


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

    async def slow() -> str:
        await asyncio.sleep(0.02)
        return "late"

    async def broken() -> None:
        raise RuntimeError("bug in a coroutine")

    run_async(slow(), on_result=called.append, owner=owner)
    owner.deleteLater()
    with caplog.at_level(logging.ERROR, logger="tray_app.ui.async_bridge"):
        run_async(broken(), what="a broken thing")
        settle(qloop, turns=10)
    assert called == []
    assert "a broken thing failed" in caplog.text
