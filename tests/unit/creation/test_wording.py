"""The one wording module: every state, phase, end reason, age and title in the words all
views share (menu, sessions window, dialogs, notifications, CLI, controller)."""

from __future__ import annotations

import pytest

from tests.support.clock import FakeClock
from tests.support.sessions import aborted, failed, running
from tray_app.creation.requests import ProjectRequest, RunRequest
from tray_app.creation.wording import (
    STATE_WORDS,
    age_words,
    doing_words,
    elide,
    error_words,
    handle_title,
    phase_words,
    reason_words,
    request_title,
    session_title,
    state_words,
    was_abandoned,
)
from tray_app.sessions import Phase, SessionKind, SessionState, SessionStore, to_handle
from tray_app.sessions.states import PHASE_OF_STATE


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (-3, "just now"),
        (0, "just now"),
        (9.9, "just now"),
        (42, "42 s"),
        (60 * 59, "59 min"),
        (3600 * 2 + 300, "2 h 5 min"),
        (3600 * 3, "3 h"),
        (86400 * 2 + 5, "2 d"),
    ],
)
def test_age_words(seconds: float, words: str) -> None:
    assert age_words(seconds) == words


def test_every_state_has_its_own_words() -> None:
    words = {state: state_words(state) for state in SessionState}
    assert all(words.values())
    assert len(set(words.values())) == len(words)  # no two states read the same
    assert state_words("input_required") == "Needs input"
    assert state_words("no_such_state") == "No such state"


def test_a_phase_reads_as_the_state_it_is_the_phase_of() -> None:
    for state, phase in PHASE_OF_STATE.items():
        assert phase_words(phase) == STATE_WORDS[state]
        assert phase_words(phase.value) == STATE_WORDS[state]
    assert phase_words(Phase.RENDERING_TEMPLATE) == "Creating folders"
    assert phase_words(None) == ""
    assert phase_words("warming_up") == "Warming up"


def test_doing_words_follow_a_session(store: SessionStore, clock: FakeClock) -> None:
    session = store.open(SessionKind.RUN, {}, title="")
    sid = session.session_id
    assert session_title(session) == f"Run {sid[-6:]}"
    assert doing_words(session) == "Starting"
    store.transition(sid, SessionState.VALIDATING)
    assert doing_words(session) == "Checking the request"
    store.transition(sid, SessionState.RENDERING)
    assert doing_words(session) == "Creating folders"
    store.transition(sid, SessionState.PLUGIN_PASS)
    assert doing_words(session) == "Running plugins"
    store.report_progress(sid, 2, 4, "plate_map")
    assert doing_words(session) == "Running plugins (2 of 4: plate_map)"
    store.await_input(sid, {"plugin": "plate_map", "reason": "?", "fields": [], "attempt": 1})
    assert doing_words(session) == "Needs input (plate_map)"
    clock.advance(hours=2)
    assert store.gc_once().abandoned == [sid]
    assert was_abandoned(session)
    assert doing_words(session) == "Cancelled: abandoned (no answer in time)"

    broken = store.open(SessionKind.PROJECT, {}, title="P")
    store.transition(broken.session_id, SessionState.VALIDATING)
    store.transition(broken.session_id, SessionState.FAILED, outcome={"code": "x"})
    assert doing_words(broken) == "Failed while checking the request"
    assert not was_abandoned(broken)


def test_end_reasons_and_errors(store: SessionStore) -> None:
    assert reason_words("session_abandoned") == "abandoned (no answer in time)"
    assert reason_words("shutdown") == "stopped when the app quit"
    assert reason_words(None) == reason_words("cancelled") == "cancelled"
    assert reason_words("disk_full") == "disk full"
    stopped = aborted(store, code="shutdown")
    assert doing_words(stopped) == "Cancelled: stopped when the app quit"
    cancelled = aborted(store)
    assert doing_words(cancelled) == "Cancelled while running plugins"
    broken = failed(store, message="x" * 300)
    assert error_words(broken) == "x" * 119 + "…"
    assert error_words(running(store)) == "unknown error"


def test_titles_read_the_same_from_a_session_and_from_its_handle(store: SessionStore) -> None:
    project = ProjectRequest(equipment_id="TECAN", project_name="Alpha", operator="ada")
    run = RunRequest(equipment_id="TECAN", project_name="Alpha", operator="ada", label="P1")
    test_run = RunRequest(
        equipment_id="HPLC", project_name="Beta", operator="ada", label="T", run_kind="test"
    )
    assert request_title(project) == "Project Alpha (TECAN)"
    assert request_title(run) == "Run 'P1' of Alpha (TECAN)"
    assert request_title(test_run) == "Test run 'T' of Beta (HPLC)"
    titled = store.open("run", {}, title=request_title(run))
    from_request = store.open("run", {"project_name": "Beta", "label": "r1"})
    bare = store.open("project", None)
    for session in (titled, from_request, bare):
        assert handle_title(to_handle(session)) == session_title(session)
    assert session_title(from_request) == f"Run {from_request.session_id[-6:]}"
    assert session_title(bare) == f"Project {bare.session_id[-6:]}"
    assert elide("abcdef", 4) == "abc…" and elide("abc", 4) == "abc"
