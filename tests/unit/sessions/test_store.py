"""SessionStore: open/get/transition/heartbeat/close, observers, counts, input prompts,
abandoned-session GC, retention of finished sessions, and wire encoding of handles."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from tests.support.clock import FakeClock
from tray_app.sessions import (
    ABANDONED_CODE,
    Change,
    IllegalTransition,
    NextAction,
    Phase,
    Retention,
    Session,
    SessionKind,
    SessionState,
    SessionStore,
    UnknownSession,
    iso_z,
    to_handle,
)

S = SessionState
PROMPT = {"plugin": "plate_map", "reason": "Which plate?", "fields": [], "attempt": 1}


def drain(subscription) -> list[dict]:
    frames = []
    while (frame := subscription.get_nowait()) is not None:
        frames.append(frame)
    return frames


def kinds(frames: list[dict]) -> list[str]:
    return [frame["kind"] for frame in frames]


def run_to_plugin_pass(store: SessionStore, session: Session) -> None:
    for state in (S.VALIDATING, S.RENDERING, S.PLUGIN_PASS):
        store.transition(session.session_id, state)


def run_to_done(store: SessionStore, session: Session, result: dict | None = None) -> None:
    run_to_plugin_pass(store, session)
    for state in (S.CACHE_WRITE, S.POST_VALIDATE, S.SYNC_QUEUED):
        store.transition(session.session_id, state)
    store.transition(session.session_id, S.DONE, outcome=result or {"path": "/x"})


# ---- open / get / reading ------------------------------------------------------------
def test_open_creates_a_pending_session_stamped_by_the_clock(
    store: SessionStore, clock: FakeClock
) -> None:
    session = store.open("project", {"name": "P"}, destination="/data/P", title="Project P")

    assert session.state is S.PENDING
    assert session.kind is SessionKind.PROJECT
    assert session.request == {"name": "P"}
    assert session.created_at == session.last_heartbeat == clock.now
    assert session.current_phase is None
    assert session.next_action is NextAction.NONE
    assert (session.destination, session.title) == ("/data/P", "Project P")
    assert (session.pending_input, session.error, session.result, session.finished_at) == (
        None,
        None,
        None,
        None,
    )
    assert store.get(session.session_id) is session
    assert session.session_id in store
    assert len(store) == 1
    assert store.clock is clock


def test_open_accepts_enum_kind_and_rejects_unknown_kinds(store: SessionStore) -> None:
    assert store.open(SessionKind.RUN, None).kind is SessionKind.RUN
    with pytest.raises(ValueError, match="unknown session kind"):
        store.open("experiment", None)
    assert len(store) == 1


def test_session_ids_are_unique_and_uuid_shaped(store: SessionStore) -> None:
    ids = [store.open("run", None).session_id for _ in range(500)]
    assert len(set(ids)) == 500
    for session_id in ids[:3]:
        parts = session_id.split("-")
        assert [len(p) for p in parts] == [8, 4, 4, 4, 12]
        int(session_id.replace("-", ""), 16)
    other = SessionStore()
    assert other.open("run", None).session_id not in ids  # random per-store prefix


def test_id_factory_can_be_injected() -> None:
    counter = iter(range(10))
    store = SessionStore(id_factory=lambda: f"s{next(counter)}")
    assert store.open("run", None).session_id == "s0"
    assert store.open("run", None).session_id == "s1"


def test_get_and_contains_for_unknown_ids(store: SessionStore) -> None:
    assert store.get("nope") is None
    assert "nope" not in store
    assert 42 not in store
    with pytest.raises(UnknownSession) as raised:
        store.handle("nope")
    assert raised.value.session_id == "nope"


def test_sessions_lists_newest_first_and_filters_by_state(
    store: SessionStore, clock: FakeClock
) -> None:
    first = store.open("run", None)
    clock.advance(seconds=1)
    second = store.open("run", None)
    clock.advance(seconds=1)
    third = store.open("project", None)
    store.transition(second.session_id, S.VALIDATING)

    assert store.sessions() == [third, second, first]
    assert store.sessions([S.PENDING]) == [third, first]
    assert store.sessions(iter([S.VALIDATING, S.DONE])) == [second]
    assert store.sessions([]) == []


def test_handle_has_the_design_fields(store: SessionStore, clock: FakeClock) -> None:
    session = store.open("run", {"r": 1}, destination="/d", title="T")
    handle = store.handle(session.session_id)
    design_keys = {
        "session_id",
        "kind",
        "state",
        "current_phase",
        "next_action",
        "created_at",
        "last_heartbeat",
        "destination",
        "pending_input",
        "error",
        "result",
    }
    assert design_keys <= handle.keys()
    assert handle["session_id"] == session.session_id
    assert handle["state"] == "pending"
    assert handle["created_at"] == clock.now
    # The handle is a copy: later changes do not leak into it.
    store.warn(session.session_id, "careful")
    assert handle["warnings"] == []


# ---- transition ------------------------------------------------------------------------
def test_transition_of_unknown_session_raises(store: SessionStore) -> None:
    with pytest.raises(UnknownSession):
        store.transition("nope", S.VALIDATING)


def test_phase_frames_carry_the_clock_time(store: SessionStore, clock: FakeClock) -> None:
    session = store.open("run", None)
    subscription = store.subscribe(session.session_id)
    clock.advance(minutes=1)
    store.transition(session.session_id, S.VALIDATING)
    clock.advance(minutes=1)
    store.transition(session.session_id, S.RENDERING)

    frames = drain(subscription)
    assert frames[1:] == [
        {"kind": "phase", "phase": Phase.VALIDATING_INPUTS, "at": clock.now - timedelta(minutes=1)},
        {"kind": "phase", "phase": Phase.RENDERING_TEMPLATE, "at": clock.now},
    ]


def test_full_walk_publishes_every_phase_then_done(store: SessionStore) -> None:
    session = store.open("project", None)
    subscription = store.subscribe(session.session_id)
    run_to_done(store, session, {"path": "/p", "sync_status": "queued", "warnings": []})

    frames = drain(subscription)
    assert kinds(frames) == ["snapshot"] + ["phase"] * 6 + ["done"]
    assert [f["phase"] for f in frames[1:7]] == [
        "validating_inputs",
        "rendering_template",
        "running_plugins",
        "writing_cache",
        "validating_post_creation",
        "queueing_nas_sync",
    ]
    assert frames[-1] == {
        "kind": "done",
        "result": {"path": "/p", "sync_status": "queued", "warnings": []},
    }
    assert session.current_phase is Phase.DONE
    assert subscription.closed
    assert subscription.close_reason == "finished"


def test_terminal_transition_without_outcome_waits_for_close(store: SessionStore) -> None:
    session = store.open("run", None)
    subscription = store.subscribe(session.session_id)
    store.transition(session.session_id, S.FAILED)

    assert kinds(drain(subscription)) == ["snapshot"]  # the terminal frame comes from close()
    assert session.finished_at is None
    assert store.live_count == 0
    assert store.finished_count == 0

    store.close(session.session_id, {"code": "boom", "message": "Boom"})
    assert drain(subscription) == [
        {"kind": "failed", "phase": None, "error": {"code": "boom", "message": "Boom"}}
    ]
    assert store.finished_count == 1


def test_failed_frame_names_the_phase_that_failed(store: SessionStore) -> None:
    session = store.open("run", None)
    run_to_plugin_pass(store, session)
    subscription = store.subscribe(session.session_id)
    error = {"code": "plugin_crashed", "message": "plate_map crashed"}
    store.transition(session.session_id, S.FAILED, outcome=error)

    assert drain(subscription)[1:] == [
        {"kind": "failed", "phase": Phase.RUNNING_PLUGINS, "error": error}
    ]
    assert session.ended_in_phase is Phase.RUNNING_PLUGINS
    assert session.current_phase is None
    assert session.error == error
    assert session.result is None


def test_outcome_is_ignored_on_a_non_terminal_transition(store: SessionStore) -> None:
    session = store.open("run", None)
    store.transition(session.session_id, S.VALIDATING, outcome={"ignored": True})
    assert (session.result, session.error, session.finished_at) == (None, None, None)


# ---- input prompts ---------------------------------------------------------------------
def test_await_input_sets_prompt_and_publishes_it(store: SessionStore, clock: FakeClock) -> None:
    session = store.open("run", None)
    run_to_plugin_pass(store, session)
    subscription = store.subscribe(session.session_id)
    clock.advance(seconds=5)

    returned = store.await_input(session.session_id, PROMPT)

    assert returned is session
    assert session.state is S.INPUT_REQUIRED
    assert session.current_phase is Phase.INPUT_REQUIRED
    assert session.next_action is NextAction.AWAITING_INPUT
    assert session.pending_input == PROMPT
    assert session.input_since == clock.now
    assert store.waiting_count == 1
    assert drain(subscription)[1:] == [{"kind": "input_required", **PROMPT}]

    store.transition(session.session_id, S.PLUGIN_PASS)  # answered: back to the plugins
    assert session.pending_input is None
    assert session.input_since is None
    assert session.next_action is NextAction.NONE
    assert store.waiting_count == 0
    assert kinds(drain(subscription)) == ["phase"]


def test_await_input_from_the_wrong_state_raises_and_keeps_the_prompt(
    store: SessionStore,
) -> None:
    session = store.open("run", None)
    with pytest.raises(IllegalTransition):
        store.await_input(session.session_id, PROMPT)
    assert session.pending_input is None
    assert store.waiting_count == 0
    with pytest.raises(UnknownSession):
        store.await_input("nope", PROMPT)


def test_plain_transition_into_input_required_publishes_a_bare_prompt(
    store: SessionStore,
) -> None:
    session = store.open("run", None)
    run_to_plugin_pass(store, session)
    subscription = store.subscribe(session.session_id)
    store.transition(session.session_id, S.INPUT_REQUIRED)
    assert drain(subscription)[1:] == [{"kind": "input_required"}]


def test_leaving_input_required_by_abort_clears_the_waiting_index(store: SessionStore) -> None:
    session = store.open("run", None)
    run_to_plugin_pass(store, session)
    store.await_input(session.session_id, PROMPT)
    store.transition(session.session_id, S.ABORTED, outcome={"code": "cancelled"})
    assert store.waiting_count == 0
    assert session.ended_in_phase is Phase.INPUT_REQUIRED
    assert session.result == {"code": "cancelled"}


# ---- progress, warnings, custom frames ------------------------------------------------------
def test_progress_and_warnings(store: SessionStore) -> None:
    session = store.open("run", None)
    run_to_plugin_pass(store, session)
    subscription = store.subscribe(session.session_id)
    changes: list[Change] = []
    store.add_observer(lambda _s, change: changes.append(change))

    store.report_progress(session.session_id, 2, 4, "plate_map")
    store.warn(session.session_id, "Plate map has blanks")

    assert drain(subscription)[1:] == [
        {
            "kind": "progress",
            "phase": Phase.RUNNING_PLUGINS,
            "current": 2,
            "total": 4,
            "plugin": "plate_map",
        },
        {"kind": "warning", "phase": Phase.RUNNING_PLUGINS, "message": "Plate map has blanks"},
    ]
    assert session.progress is not None and session.progress["current"] == 2
    assert session.warnings == ["Plate map has blanks"]
    assert changes == [Change.UPDATED, Change.UPDATED]
    with pytest.raises(UnknownSession):
        store.report_progress("nope", 1, 1, "p")
    with pytest.raises(UnknownSession):
        store.warn("nope", "x")


def test_publish_custom_frames_but_never_terminal_ones(store: SessionStore) -> None:
    session = store.open("run", None)
    subscription = store.subscribe(session.session_id)
    store.publish(session.session_id, {"kind": "log", "line": "hello"})
    for kind in ("done", "failed", "aborted"):
        with pytest.raises(ValueError, match="terminal"):
            store.publish(session.session_id, {"kind": kind})
    with pytest.raises(UnknownSession):
        store.publish("nope", {"kind": "log"})
    assert drain(subscription)[1:] == [{"kind": "log", "line": "hello"}]
    assert not subscription.closed


# ---- heartbeat -------------------------------------------------------------------------
def test_heartbeat_refreshes_and_notifies(store: SessionStore, clock: FakeClock) -> None:
    session = store.open("run", None)
    seen: list[tuple[str, Change]] = []
    store.add_observer(lambda s, change: seen.append((s.session_id, change)))
    clock.advance(minutes=3)
    store.heartbeat(session.session_id)
    assert session.last_heartbeat == clock.now
    assert session.created_at == clock.now - timedelta(minutes=3)
    assert seen == [(session.session_id, Change.HEARTBEAT)]


def test_heartbeat_for_unknown_session_is_a_no_op(store: SessionStore) -> None:
    seen: list[Change] = []
    store.add_observer(lambda _s, change: seen.append(change))
    store.heartbeat("nope")
    assert seen == []
    assert len(store) == 0


# ---- close -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("terminal", "field", "frame_kind"),
    [(S.DONE, "result", "done"), (S.ABORTED, "result", "aborted"), (S.FAILED, "error", "failed")],
)
def test_close_stamps_the_outcome_and_publishes_the_terminal_frame(
    store: SessionStore, walk, clock: FakeClock, terminal: SessionState, field: str, frame_kind: str
) -> None:
    session = walk(store.open("run", None), terminal)
    subscription = store.subscribe(session.session_id)
    changes: list[Change] = []
    store.add_observer(lambda _s, change: changes.append(change))
    outcome = {"code": "x", "message": "y"}
    clock.advance(seconds=1)

    store.close(session.session_id, outcome)

    assert getattr(session, field) == outcome
    other = "error" if field == "result" else "result"
    assert getattr(session, other) is None
    assert session.outcome == outcome
    assert session.finished_at == clock.now
    assert kinds(drain(subscription)) == ["snapshot", frame_kind]
    assert subscription.closed
    assert changes == [Change.CLOSED]
    assert store.finished_count == 1
    assert store.subscriber_count(session.session_id) == 0


def test_close_of_unknown_session_is_a_no_op(store: SessionStore) -> None:
    store.close("nope", {"code": "x"})
    assert len(store) == 0


@pytest.mark.parametrize("state", [s for s in S if s not in (S.DONE, S.FAILED, S.ABORTED)])
def test_closing_a_live_session_raises(store: SessionStore, walk, state: SessionState) -> None:
    session = walk(store.open("run", None), state)
    with pytest.raises(ValueError, match="not terminal"):
        store.close(session.session_id, {"path": "/x"})
    assert (session.result, session.error, session.finished_at) == (None, None, None)
    assert store.live_count == 1


def test_closing_twice_restamps_without_a_second_frame(
    store: SessionStore, clock: FakeClock
) -> None:
    session = store.open("run", None)
    subscription = store.subscribe(session.session_id)
    store.transition(session.session_id, S.ABORTED, outcome={"code": "cancelled"})
    finished_at = session.finished_at
    global_subscription = store.subscribe_all()
    drain(global_subscription)
    changes: list[Change] = []
    store.add_observer(lambda _s, change: changes.append(change))
    clock.advance(seconds=10)

    store.close(session.session_id, {"code": "cancelled", "discarded": True})

    assert session.result == {"code": "cancelled", "discarded": True}
    assert session.finished_at == finished_at
    assert kinds(drain(subscription)) == ["snapshot", "aborted"]
    assert drain(global_subscription) == []
    assert changes == [Change.UPDATED]
    assert store.finished_count == 1


# ---- next_transition --------------------------------------------------------------------
async def test_next_transition_resolves_with_the_new_state(store: SessionStore) -> None:
    session = store.open("run", None)
    first = store.next_transition(session.session_id)
    second = store.next_transition(session.session_id)
    cancelled = store.next_transition(session.session_id)
    cancelled.cancel()
    assert not first.done()

    store.transition(session.session_id, S.VALIDATING)

    assert await asyncio.wait_for(first, 1) is S.VALIDATING
    assert await asyncio.wait_for(second, 1) is S.VALIDATING
    later = store.next_transition(session.session_id)
    assert not later.done()  # a waiter hears the *next* transition, not a past one
    store.transition(session.session_id, S.FAILED)
    assert await asyncio.wait_for(later, 1) is S.FAILED


async def test_next_transition_of_a_terminal_session_resolves_at_once(
    store: SessionStore,
) -> None:
    session = store.open("run", None)
    store.transition(session.session_id, S.ABORTED)  # terminal, not yet closed
    assert await asyncio.wait_for(store.next_transition(session.session_id), 1) is S.ABORTED
    store.close(session.session_id, {"code": "cancelled"})
    assert await asyncio.wait_for(store.next_transition(session.session_id), 1) is S.ABORTED


async def test_next_transition_of_unknown_session_raises(store: SessionStore) -> None:
    with pytest.raises(UnknownSession):
        store.next_transition("nope")


# ---- observers ---------------------------------------------------------------------------
def test_observers_hear_every_change_after_it_happened(
    clock: FakeClock,
) -> None:
    store = SessionStore(clock=clock, retention=Retention(max_finished=1))
    seen: list[tuple[str, Change, SessionState]] = []

    def observer(session: Session, change: Change) -> None:
        # Called after the change: the session already shows it.
        seen.append((session.session_id, change, session.state))
        assert store.get(session.session_id) is (None if change is Change.EVICTED else session)

    store.add_observer(observer)
    a = store.open("run", None)
    store.transition(a.session_id, S.VALIDATING)
    store.heartbeat(a.session_id)
    store.warn(a.session_id, "w")
    store.transition(a.session_id, S.FAILED, outcome={"code": "x"})
    b = store.open("run", None)
    store.transition(b.session_id, S.ABORTED, outcome={"code": "y"})  # evicts a (max 1)

    assert seen == [
        (a.session_id, Change.OPENED, S.PENDING),
        (a.session_id, Change.STATE, S.VALIDATING),
        (a.session_id, Change.HEARTBEAT, S.VALIDATING),
        (a.session_id, Change.UPDATED, S.VALIDATING),
        (a.session_id, Change.STATE, S.FAILED),
        (a.session_id, Change.CLOSED, S.FAILED),
        (b.session_id, Change.OPENED, S.PENDING),
        (b.session_id, Change.STATE, S.ABORTED),
        (b.session_id, Change.CLOSED, S.ABORTED),
        (a.session_id, Change.EVICTED, S.FAILED),
    ]


def test_a_failing_observer_is_logged_and_breaks_nothing(
    store: SessionStore, caplog: pytest.LogCaptureFixture
) -> None:
    before: list[Change] = []
    after: list[Change] = []
    store.add_observer(lambda _s, change: before.append(change))

    def broken(_session: Session, _change: Change) -> None:
        raise RuntimeError("observer bug")

    store.add_observer(broken)
    store.add_observer(lambda _s, change: after.append(change))
    subscription = store.subscribe_all()

    with caplog.at_level(logging.ERROR, logger="tray_app.sessions.store"):
        session = store.open("run", None)
        store.transition(session.session_id, S.VALIDATING)
        store.heartbeat(session.session_id)
        store.transition(session.session_id, S.ABORTED, outcome={"code": "cancelled"})

    expected = [Change.OPENED, Change.STATE, Change.HEARTBEAT, Change.STATE, Change.CLOSED]
    assert before == expected
    assert after == expected
    assert session.state is S.ABORTED
    assert session.result == {"code": "cancelled"}
    assert store.finished_count == 1
    assert kinds(drain(subscription)) == ["snapshot", "opened", "phase", "aborted"]
    failures = [r for r in caplog.records if "observer" in r.getMessage()]
    assert len(failures) == len(expected)
    assert all(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in failures)


def test_a_failing_observer_does_not_stop_eviction(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = SessionStore(clock=clock, retention=Retention(max_finished=1))
    heard: list[tuple[str, Change]] = []

    def broken(_session: Session, change: Change) -> None:
        if change is Change.EVICTED:
            raise RuntimeError("observer bug")

    store.add_observer(broken)
    store.add_observer(lambda session, change: heard.append((session.session_id, change)))
    first, second = (store.open("run", None).session_id for _ in range(2))
    with caplog.at_level(logging.ERROR, logger="tray_app.sessions.store"):
        for session_id in (first, second):
            store.transition(session_id, S.ABORTED, outcome={"code": "cancelled"})

    assert (first, Change.EVICTED) in heard
    assert first not in store and second in store
    assert "failed on evicted" in caplog.text


def test_session_repr_names_id_kind_and_state(store: SessionStore) -> None:
    session = store.open("project", None)
    assert repr(session) == f"<Session {session.session_id} project pending>"


def test_observer_remover_and_self_removal_during_notification(store: SessionStore) -> None:
    calls: list[str] = []
    removers = {}

    def once(_session: Session, _change: Change) -> None:
        calls.append("once")
        removers["once"]()

    removers["once"] = store.add_observer(once)
    remove_always = store.add_observer(lambda _s, _c: calls.append("always"))
    session = store.open("run", None)
    store.heartbeat(session.session_id)
    remove_always()
    remove_always()  # removing twice is harmless
    store.heartbeat(session.session_id)
    assert calls == ["once", "always", "always"]


def test_an_observer_reacting_with_a_transition_keeps_frames_in_order(
    store: SessionStore,
) -> None:
    """A pipeline-like observer that moves the session on inside the callback must not
    get its frame out ahead of the frame of the change it reacts to."""
    session = store.open("run", None)
    subscription = store.subscribe(session.session_id)

    def advance(observed: Session, change: Change) -> None:
        if change is Change.STATE and observed.state is S.VALIDATING:
            store.transition(observed.session_id, S.RENDERING)

    store.add_observer(advance)
    store.transition(session.session_id, S.VALIDATING)
    assert [f.get("phase") for f in drain(subscription)] == [
        None,
        "validating_inputs",
        "rendering_template",
    ]


# ---- counts ------------------------------------------------------------------------------
def test_counts_follow_the_lifecycle(store: SessionStore) -> None:
    sessions = [store.open("run", None) for _ in range(4)]
    assert (store.live_count, store.waiting_count, store.finished_count) == (4, 0, 0)
    for session in sessions[:3]:
        run_to_plugin_pass(store, session)
    store.await_input(sessions[0].session_id, PROMPT)
    store.await_input(sessions[1].session_id, PROMPT)
    assert (store.live_count, store.waiting_count, store.finished_count) == (4, 2, 0)
    store.transition(sessions[0].session_id, S.PLUGIN_PASS)
    store.transition(sessions[1].session_id, S.FAILED, outcome={"code": "x"})
    assert (store.live_count, store.waiting_count, store.finished_count) == (3, 0, 1)
    store.transition(sessions[3].session_id, S.ABORTED)  # terminal but not closed yet
    assert (store.live_count, store.waiting_count, store.finished_count) == (2, 0, 1)
    store.close(sessions[3].session_id, {"code": "cancelled"})
    assert (store.live_count, store.waiting_count, store.finished_count) == (2, 0, 2)
    assert len(store) == 4


# ---- abandoned sessions and GC ---------------------------------------------------------------
def make_waiting(store: SessionStore) -> Session:
    session = store.open("run", None)
    run_to_plugin_pass(store, session)
    store.await_input(session.session_id, PROMPT)
    return session


def test_abandoned_older_than_only_counts_stale_waiting_sessions(
    store: SessionStore, clock: FakeClock
) -> None:
    stale_waiting = make_waiting(store)
    stale_running = store.open("run", None)
    run_to_plugin_pass(store, stale_running)
    refreshed = make_waiting(store)
    clock.advance(minutes=30)
    late = make_waiting(store)  # waiting for only 30 minutes by the time we look
    clock.advance(minutes=30)
    store.heartbeat(refreshed.session_id)

    assert store.abandoned_older_than(timedelta(minutes=59)) == [stale_waiting.session_id]
    assert store.abandoned_older_than(timedelta(minutes=29)) == [
        stale_waiting.session_id,
        late.session_id,
    ]
    # Exactly at the threshold is not older than it.
    assert store.abandoned_older_than(timedelta(minutes=60)) == []


async def test_gc_aborts_exactly_the_abandoned_waiting_sessions(
    store: SessionStore, clock: FakeClock
) -> None:
    abandoned = [make_waiting(store) for _ in range(3)]
    kept_waiting = make_waiting(store)
    busy = store.open("run", None)
    run_to_plugin_pass(store, busy)
    pending = store.open("project", None)
    clock.advance(minutes=61)
    store.heartbeat(kept_waiting.session_id)
    subscription = store.subscribe(abandoned[0].session_id)
    waiter = store.next_transition(abandoned[0].session_id)

    report = store.gc_once()

    assert report.abandoned == [s.session_id for s in abandoned]
    assert report.evicted == 0
    for session in abandoned:
        assert session.state is S.ABORTED
        assert session.result is not None and session.result["code"] == ABANDONED_CODE
        assert "60 minutes" in session.result["message"]
        assert session.ended_in_phase is Phase.INPUT_REQUIRED
        assert session.pending_input is None
        assert session.finished_at == clock.now
    assert kept_waiting.state is S.INPUT_REQUIRED
    assert busy.state is S.PLUGIN_PASS
    assert pending.state is S.PENDING
    assert (store.live_count, store.waiting_count, store.finished_count) == (3, 1, 3)
    frames = drain(subscription)
    assert frames[-1] == {"kind": "aborted", "reason": abandoned[0].result}
    assert subscription.closed
    # The pipeline task blocked on the prompt wakes up and sees the abort.
    assert await asyncio.wait_for(waiter, 1) is S.ABORTED
    assert store.gc_once().abandoned == []


def test_gc_threshold_can_be_given_per_pass(clock: FakeClock) -> None:
    store = SessionStore(clock=clock, abandon_after=timedelta(minutes=5))
    session = make_waiting(store)
    clock.advance(minutes=4)
    assert store.gc_once().abandoned == []
    assert store.gc_once(timedelta(minutes=3)).abandoned == [session.session_id]
    assert session.result is not None and "3 minutes" in session.result["message"]


def test_gc_skips_a_session_an_observer_already_moved_on(
    store: SessionStore, clock: FakeClock
) -> None:
    first, second = make_waiting(store), make_waiting(store)
    clock.advance(hours=2)

    def cancel_the_other(session: Session, change: Change) -> None:
        if change is Change.CLOSED and session is first:
            store.transition(second.session_id, S.ABORTED, outcome={"code": "cancelled"})

    store.add_observer(cancel_the_other)
    report = store.gc_once()
    assert report.abandoned == [first.session_id]
    assert second.result == {"code": "cancelled"}


async def test_gc_loop_runs_passes_until_cancelled(store: SessionStore, clock: FakeClock) -> None:
    session = make_waiting(store)
    clock.advance(hours=2)
    waiter = store.next_transition(session.session_id)
    task = asyncio.create_task(store.gc_loop(interval_s=0))
    try:
        assert await asyncio.wait_for(waiter, 5) is S.ABORTED
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert session.result is not None and session.result["code"] == ABANDONED_CODE


# ---- retention -----------------------------------------------------------------------------
def finish(store: SessionStore) -> Session:
    session = store.open("run", None)
    store.transition(session.session_id, S.ABORTED, outcome={"code": "cancelled"})
    return session


def test_retention_by_count_is_enforced_on_close(clock: FakeClock) -> None:
    store = SessionStore(clock=clock, retention=Retention(max_finished=3))
    live = store.open("project", None)
    evicted: list[str] = []
    store.add_observer(
        lambda s, change: evicted.append(s.session_id) if change is Change.EVICTED else None
    )
    finished = [finish(store) for _ in range(5)]

    assert evicted == [finished[0].session_id, finished[1].session_id]
    assert [store.get(s.session_id) for s in finished] == [None, None, *finished[2:]]
    assert store.finished_count == 3
    assert store.get(live.session_id) is live  # live sessions are never evicted
    assert len(store) == 4
    with pytest.raises(UnknownSession):
        store.subscribe(finished[0].session_id)


def test_retention_by_count_in_gc_after_the_bound_is_lowered(clock: FakeClock) -> None:
    store = SessionStore(clock=clock, retention=Retention(max_finished=10))
    finished = [finish(store) for _ in range(4)]
    store.retention = Retention(max_finished=1)
    report = store.gc_once()
    assert report.evicted == 3
    assert store.sessions() == [finished[-1]]


def test_retention_by_age_is_enforced_by_gc(clock: FakeClock) -> None:
    store = SessionStore(clock=clock, retention=Retention(max_age=timedelta(hours=1)))
    old = [finish(store) for _ in range(2)]
    clock.advance(minutes=30)
    young = finish(store)
    clock.advance(minutes=30)  # old ones are exactly one hour old: still kept

    assert store.gc_once().evicted == 0
    clock.advance(seconds=1)
    report = store.gc_once()
    assert report.evicted == 2
    assert [store.get(s.session_id) for s in old] == [None, None]
    assert store.get(young.session_id) is young
    clock.advance(minutes=30)
    assert store.gc_once().evicted == 1
    assert store.finished_count == 0
    assert len(store) == 0


def test_zero_retention_evicts_on_close_and_ends_the_stream(clock: FakeClock) -> None:
    store = SessionStore(clock=clock, retention=Retention(max_finished=0))
    session = store.open("run", None)
    subscription = store.subscribe(session.session_id)
    store.transition(session.session_id, S.FAILED, outcome={"code": "x"})

    assert store.get(session.session_id) is None
    assert kinds(drain(subscription)) == ["snapshot", "failed"]
    assert subscription.closed
    assert store.finished_count == 0


# ---- wire encoding -----------------------------------------------------------------------------
def test_handles_and_frames_encode_to_json_with_iso_z_times(
    clock: FakeClock,
) -> None:
    clock.now = datetime(2026, 3, 1, 9, 30, 15, 123000, tzinfo=UTC)
    store = SessionStore(clock=clock)
    session = store.open("run", {"n": 1}, destination="/d")
    subscription = store.subscribe(session.session_id)
    everything = store.subscribe_all()
    run_to_plugin_pass(store, session)
    store.await_input(session.session_id, PROMPT)
    store.transition(session.session_id, S.ABORTED, outcome={"code": "cancelled"})

    decoded = [msgspec.json.decode(msgspec.json.encode(f)) for f in drain(subscription)]
    snapshot = decoded[0]["session"]
    assert snapshot["created_at"] == "2026-03-01T09:30:15.123000Z"
    assert snapshot["kind"] == "run"
    assert snapshot["state"] == "pending"
    assert snapshot["next_action"] == "none"
    assert decoded[1] == {
        "kind": "phase",
        "phase": "validating_inputs",
        "at": "2026-03-01T09:30:15.123000Z",
    }
    assert decoded[4] == {"kind": "input_required", **PROMPT}
    assert decoded[5] == {"kind": "aborted", "reason": {"code": "cancelled"}}
    handle = msgspec.json.decode(msgspec.json.encode(to_handle(session)))
    assert handle["state"] == "aborted"
    assert handle["finished_at"].endswith("Z")
    for frame in drain(everything):
        assert isinstance(msgspec.json.encode(frame), bytes)


def test_iso_z_is_utc_with_millisecond_precision() -> None:
    from datetime import timezone

    moment = datetime(2026, 3, 1, 10, 0, 0, 987654, tzinfo=timezone(timedelta(hours=1)))
    assert iso_z(moment) == "2026-03-01T09:00:00.987Z"


def test_gc_report_counts_evictions_caused_by_its_own_aborts(clock: FakeClock) -> None:
    store = SessionStore(clock=clock, retention=Retention(max_finished=1))
    finish(store)
    first, second = make_waiting(store), make_waiting(store)
    clock.advance(hours=2)
    report = store.gc_once()
    assert report.abandoned == [first.session_id, second.session_id]
    assert report.evicted == 2
    assert store.sessions() == [second]
