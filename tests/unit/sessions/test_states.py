"""The state machine of DESIGN §2: every legal edge works through the store, every
illegal edge raises IllegalTransition and changes nothing, terminal states are sinks,
phases and next_action are exactly as the design says."""

from __future__ import annotations

import itertools

import pytest

from tray_app.sessions import (
    LIVE_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    Change,
    IllegalTransition,
    NextAction,
    Phase,
    SessionKind,
    SessionState,
    SessionStore,
    assert_transition,
    is_legal,
    state_to_phase,
)

S = SessionState

# Written out from DESIGN §2 by hand, so a change to the table has to change this too.
FORWARD_EDGES = {
    (S.PENDING, S.VALIDATING),
    (S.VALIDATING, S.RENDERING),
    (S.RENDERING, S.PLUGIN_PASS),
    (S.PLUGIN_PASS, S.INPUT_REQUIRED),
    (S.INPUT_REQUIRED, S.PLUGIN_PASS),
    (S.PLUGIN_PASS, S.CACHE_WRITE),
    (S.CACHE_WRITE, S.POST_VALIDATE),
    (S.POST_VALIDATE, S.SYNC_QUEUED),
    (S.SYNC_QUEUED, S.DONE),
}
TERMINALS = {S.DONE, S.FAILED, S.ABORTED}
NON_TERMINALS = set(S) - TERMINALS
LEGAL_EDGES = FORWARD_EDGES | {(s, end) for s in NON_TERMINALS for end in (S.FAILED, S.ABORTED)}
ILLEGAL_EDGES = sorted(set(itertools.product(S, S)) - LEGAL_EDGES)

WIRE_PHASE = {
    S.PENDING: None,
    S.VALIDATING: "validating_inputs",
    S.RENDERING: "rendering_template",
    S.PLUGIN_PASS: "running_plugins",
    S.INPUT_REQUIRED: "input_required",
    S.CACHE_WRITE: "writing_cache",
    S.POST_VALIDATE: "validating_post_creation",
    S.SYNC_QUEUED: "queueing_nas_sync",
    S.DONE: "done",
    S.FAILED: None,
    S.ABORTED: None,
}


def test_transition_table_is_exactly_the_design() -> None:
    table = {(src, dst) for src, targets in TRANSITIONS.items() for dst in targets}
    assert table == LEGAL_EDGES
    assert set(TRANSITIONS) == set(S)


def test_terminal_and_live_state_sets() -> None:
    assert TERMINAL_STATES == TERMINALS
    assert LIVE_STATES == NON_TERMINALS


@pytest.mark.parametrize("terminal", sorted(TERMINALS))
def test_terminal_states_are_sinks(terminal: SessionState) -> None:
    assert TRANSITIONS[terminal] == frozenset()
    for target in S:
        assert not is_legal(terminal, target)
        with pytest.raises(IllegalTransition):
            assert_transition(terminal, target)


@pytest.mark.parametrize("state", list(S))
def test_state_to_phase_matches_design(state: SessionState) -> None:
    phase = state_to_phase(state)
    assert (None if phase is None else phase.value) == WIRE_PHASE[state]
    assert phase is None or isinstance(phase, Phase)


def test_transition_table_cannot_be_mutated() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[S.DONE] = frozenset({S.PENDING})  # type: ignore[index]


@pytest.mark.parametrize(("src", "dst"), sorted(LEGAL_EDGES))
def test_every_legal_edge_goes_through_the_store(
    store: SessionStore, walk, src: SessionState, dst: SessionState
) -> None:
    session = walk(store.open(SessionKind.RUN, {}), src)
    assert is_legal(src, dst)
    assert_transition(src, dst)
    changes: list[Change] = []
    store.add_observer(lambda _s, change: changes.append(change))

    moved = store.transition(session.session_id, dst)

    assert moved is session
    assert session.state is dst
    assert session.current_phase == state_to_phase(dst)
    expected_action = NextAction.AWAITING_INPUT if dst is S.INPUT_REQUIRED else NextAction.NONE
    assert session.next_action is expected_action
    assert changes == [Change.STATE]


@pytest.mark.parametrize(("src", "dst"), ILLEGAL_EDGES)
def test_every_illegal_edge_raises_and_changes_nothing(
    store: SessionStore, walk, src: SessionState, dst: SessionState
) -> None:
    session = walk(store.open(SessionKind.PROJECT, {}), src)
    before = (session.state, session.current_phase, session.next_action, session.pending_input)
    subscription = store.subscribe(session.session_id)
    assert subscription.get_nowait()["kind"] == "snapshot"  # type: ignore[index]
    changes: list[Change] = []
    store.add_observer(lambda _s, change: changes.append(change))

    with pytest.raises(IllegalTransition) as raised:
        store.transition(session.session_id, dst)

    assert (raised.value.current, raised.value.new) == (src, dst)
    assert isinstance(raised.value, ValueError)  # callers that catch ValueError still work
    assert f"{src.value} -> {dst.value}" in str(raised.value)
    after = (session.state, session.current_phase, session.next_action, session.pending_input)
    assert after == before
    assert changes == []
    assert subscription.get_nowait() is None


@pytest.mark.parametrize("state", list(S))
def test_next_action_is_awaiting_input_exactly_in_input_required(
    store: SessionStore, walk, state: SessionState
) -> None:
    session = walk(store.open("run", {}), state)
    assert session.next_action is (
        NextAction.AWAITING_INPUT if state is S.INPUT_REQUIRED else NextAction.NONE
    )
    assert session.current_phase == state_to_phase(state)
    assert session.is_terminal() is (state in TERMINALS)
    assert store.waiting_count == (1 if state is S.INPUT_REQUIRED else 0)
    assert store.live_count == (0 if state in TERMINALS else 1)
