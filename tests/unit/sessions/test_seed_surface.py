"""The seed's public surface (shared/reference/session_store.txt), kept: code written
against the seed's store runs unchanged on ours. Each test is such a program, in the
seed's own names: ``open(kind, req=...)``, ``attach_event_queue``,
``gc_loop(interval_seconds=...)``, ``Session(...)`` from the dataclass fields,
``ValueError`` for anything illegal, and the ``reason`` key of a GC abort."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.clock import FakeClock
from tray_app.sessions import (
    ABANDONED_CODE,
    NextAction,
    Phase,
    Session,
    SessionKind,
    SessionState,
    SessionStore,
    assert_transition,
    is_legal,
)

S = SessionState
WALK = (S.VALIDATING, S.RENDERING, S.PLUGIN_PASS, S.CACHE_WRITE, S.POST_VALIDATE, S.SYNC_QUEUED)


def test_open_takes_the_seeds_req_keyword(store: SessionStore) -> None:
    request = {"project_name": "P"}
    session = store.open(SessionKind.RUN, req=request)
    assert session.request is request
    assert store.open("project", request=request).request is request
    assert store.open("project", request).request is request


def test_open_refuses_both_or_neither_request_keyword(store: SessionStore) -> None:
    with pytest.raises(TypeError, match="not both"):
        store.open("run", {"a": 1}, req={"a": 2})
    with pytest.raises(TypeError, match="needs the request"):
        store.open("run")
    assert len(store) == 0


async def test_an_attached_event_queue_gets_every_frame_the_session_publishes(
    store: SessionStore,
) -> None:
    session = store.open("run", req=None)
    queue: asyncio.Queue[dict] = asyncio.Queue()
    store.attach_event_queue(session.session_id, queue)
    stream = store.subscribe(session.session_id)  # the fan-out's other users go on as before
    for state in WALK[:3]:
        store.transition(session.session_id, state)
    store.report_progress(session.session_id, 1, 1, "plate_map")
    store.warn(session.session_id, "careful")
    store.await_input(session.session_id, {"plugin": "plate_map", "reason": "r", "fields": []})
    store.transition(session.session_id, S.PLUGIN_PASS)
    for state in WALK[3:]:
        store.transition(session.session_id, state)
    store.transition(session.session_id, S.DONE, outcome={"path": "/x"})

    got = []
    while not queue.empty():
        got.append(queue.get_nowait())
    streamed = stream.take_all()
    assert streamed[0]["kind"] == "snapshot"
    assert got == streamed[1:]  # the same frames, the same objects, in the same order
    assert [f["kind"] for f in got] == [
        "phase", "phase", "phase", "progress", "warning", "input_required",
        "phase", "phase", "phase", "phase", "done",
    ]  # fmt: skip
    assert got[-1]["result"] == {"path": "/x"}
    assert session.event_queue is queue
    assert store.subscriber_count(session.session_id) == 0  # finished: nothing holds it


def test_attaching_a_second_queue_replaces_the_first(store: SessionStore) -> None:
    session = store.open("run", req=None)
    first: asyncio.Queue[dict] = asyncio.Queue()
    second: asyncio.Queue[dict] = asyncio.Queue()
    store.attach_event_queue(session.session_id, first)
    store.transition(session.session_id, S.VALIDATING)
    store.attach_event_queue(session.session_id, second)
    store.transition(session.session_id, S.RENDERING)
    assert [first.get_nowait()["phase"]] == [Phase.VALIDATING_INPUTS] and first.empty()
    assert second.get_nowait()["phase"] is Phase.RENDERING_TEMPLATE and second.empty()
    assert store.subscriber_count(session.session_id) == 1
    assert session.event_queue is second


def test_a_full_bounded_queue_is_cut_off_and_the_store_goes_on(store: SessionStore) -> None:
    session = store.open("run", req=None)
    queue: asyncio.Queue[dict] = asyncio.Queue(maxsize=1)
    store.attach_event_queue(session.session_id, queue)
    for state in WALK[:3]:
        store.transition(session.session_id, state)
    assert queue.qsize() == 1 and session.state is S.PLUGIN_PASS
    assert store.subscriber_count(session.session_id) == 0


def test_attach_event_queue_on_an_unknown_session_is_a_value_error(store: SessionStore) -> None:
    with pytest.raises(ValueError, match="unknown session_id"):
        store.attach_event_queue("nope", asyncio.Queue())


def test_attach_event_queue_on_a_finished_session_keeps_the_queue_and_sends_nothing(
    store: SessionStore,
) -> None:
    session = store.open("run", req=None)
    store.transition(session.session_id, S.FAILED, outcome={"code": "x", "message": "m"})
    queue: asyncio.Queue[dict] = asyncio.Queue()
    store.attach_event_queue(session.session_id, queue)
    assert session.event_queue is queue and queue.empty()
    assert store.subscriber_count(session.session_id) == 0


def test_illegal_edges_are_value_errors_in_the_seeds_words(store: SessionStore) -> None:
    session = store.open("run", req=None)
    with pytest.raises(ValueError, match="illegal state transition pending -> done"):
        store.transition(session.session_id, S.DONE)
    with pytest.raises(ValueError, match="illegal state transition"):
        store.transition(session.session_id, "no such state")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="illegal state transition"):
        store.transition(session.session_id, ["unhashable"])  # type: ignore[arg-type]
    assert session.state is S.PENDING
    with pytest.raises(ValueError, match="illegal state transition 'bogus' -> done"):
        assert_transition("bogus", S.DONE)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="illegal state transition"):
        assert_transition(S.PENDING, "bogus")  # type: ignore[arg-type]
    assert not is_legal("bogus", S.DONE)  # type: ignore[arg-type]
    # A state's plain string value is that state, as it was in the seed.
    store.transition(session.session_id, "validating")  # type: ignore[arg-type]
    assert session.state is S.VALIDATING


def test_session_is_built_from_the_seeds_dataclass_fields_as_keywords() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    queue: asyncio.Queue[dict] = asyncio.Queue()
    session = Session(
        session_id="s-1",
        kind="run",  # type: ignore[arg-type]
        state="input_required",
        request={"label": "L"},
        created_at=now,
        last_heartbeat=now + timedelta(seconds=5),
        current_phase="input_required",
        next_action="awaiting_input",
        event_queue=queue,
        pending_input={"plugin": "p"},
        error=None,
        result=None,
    )
    assert session.kind is SessionKind.RUN
    assert session.state is S.INPUT_REQUIRED and not session.is_terminal()
    assert session.current_phase is Phase.INPUT_REQUIRED
    assert session.next_action is NextAction.AWAITING_INPUT
    assert session.last_heartbeat == now + timedelta(seconds=5)
    assert session.event_queue is queue and session.pending_input == {"plugin": "p"}
    done = Session(session_id="s-2", kind=SessionKind.PROJECT, request=None, created_at=now,
                   state=S.DONE, result={"path": "/x"})  # fmt: skip
    assert done.is_terminal() and done.result == {"path": "/x"}
    assert done.last_heartbeat == now  # defaults to created_at, as the store's do
    with pytest.raises(TypeError, match="colour"):
        Session(session_id="s-3", kind=SessionKind.RUN, request=None, created_at=now, colour=1)


def test_a_gc_abort_has_the_seeds_reason_key(clock: FakeClock) -> None:
    store = SessionStore(clock=clock)
    session = store.open("run", req=None)
    for state in WALK[:3]:
        store.transition(session.session_id, state)
    store.await_input(session.session_id, {"plugin": "p", "reason": "r"})
    clock.advance(hours=2)
    assert store.gc_once().abandoned == [session.session_id]
    assert session.result is not None
    assert session.result["code"] == ABANDONED_CODE
    assert session.result["reason"] == "no client heartbeat for >1h"
    assert "60 minutes" in session.result["message"]  # our own words stay beside it


async def test_gc_loop_takes_the_seeds_interval_seconds(clock: FakeClock) -> None:
    store = SessionStore(clock=clock, abandon_after=timedelta(minutes=1))
    session = store.open("run", req=None)
    for state in WALK[:3]:
        store.transition(session.session_id, state)
    store.await_input(session.session_id, {"plugin": "p", "reason": "r"})
    ended = store.next_transition(session.session_id)
    clock.advance(minutes=5)
    task = asyncio.create_task(store.gc_loop(interval_seconds=0))
    try:
        assert await asyncio.wait_for(ended, timeout=5) is S.ABORTED
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert session.result is not None
    assert session.result["reason"] == "no client heartbeat for >1min"


def test_a_gc_abort_after_an_odd_age_says_it_in_seconds(clock: FakeClock) -> None:
    store = SessionStore(clock=clock, abandon_after=timedelta(seconds=90))
    session = store.open("run", req=None)
    for state in WALK[:3]:
        store.transition(session.session_id, state)
    store.await_input(session.session_id, {"plugin": "p", "reason": "r"})
    clock.advance(seconds=91)
    store.gc_once()
    assert session.result is not None
    assert session.result["reason"] == "no client heartbeat for >90s"
