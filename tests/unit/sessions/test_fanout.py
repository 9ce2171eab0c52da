"""Event fan-out: per-session and all-session subscriptions, ordering, slow consumers,
finished sessions, shutdown, and the Subscription stream itself."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.support.clock import FakeClock
from tray_app.sessions import (
    Retention,
    SessionState,
    SessionStore,
    Subscription,
    UnknownSession,
)

S = SessionState
WALK = (S.VALIDATING, S.RENDERING, S.PLUGIN_PASS, S.CACHE_WRITE, S.POST_VALIDATE, S.SYNC_QUEUED)


def drain(subscription: Subscription) -> list[dict]:
    frames = []
    while (frame := subscription.get_nowait()) is not None:
        frames.append(frame)
    return frames


async def collect(subscription: Subscription) -> list[dict]:
    return [frame async for frame in subscription]


async def blocked_reader(subscription: Subscription) -> asyncio.Task[dict | None]:
    """A task parked in ``subscription.get()`` with nothing queued (no sleeping needed:
    the task only yields to us once it blocks)."""
    assert subscription.pending == 0
    started = asyncio.Event()

    async def read() -> dict | None:
        started.set()
        return await subscription.get()

    task = asyncio.create_task(read())
    await started.wait()  # returns once read() has set it and then blocked in get()
    assert not task.done()
    return task


async def test_many_subscribers_each_get_snapshot_then_every_frame_in_order(
    store: SessionStore,
) -> None:
    session = store.open("run", None)
    early = [store.subscribe(session.session_id) for _ in range(5)]
    readers = [asyncio.create_task(collect(s)) for s in early]
    store.transition(session.session_id, S.VALIDATING)
    late = store.subscribe(session.session_id)  # joins mid-way
    late_reader = asyncio.create_task(collect(late))
    assert store.subscriber_count(session.session_id) == 6
    for state in WALK[1:]:
        store.transition(session.session_id, state)
    store.report_progress(session.session_id, 1, 1, "p")
    store.transition(session.session_id, S.DONE, outcome={"path": "/x"})

    results = await asyncio.wait_for(asyncio.gather(*readers, late_reader), 5)

    phases = [f["phase"] for f in results[0] if f["kind"] == "phase"]
    assert phases == [
        "validating_inputs",
        "rendering_template",
        "running_plugins",
        "writing_cache",
        "validating_post_creation",
        "queueing_nas_sync",
    ]
    for frames in results[:5]:
        assert frames == results[0]
        assert frames[0]["kind"] == "snapshot"
        assert frames[0]["session"]["state"] == "pending"
        assert [f["kind"] for f in frames[-2:]] == ["progress", "done"]
    late_frames = results[5]
    assert late_frames[0]["kind"] == "snapshot"
    assert late_frames[0]["session"]["state"] == "validating"
    assert late_frames[1:] == results[0][2:]  # everything after the join, in order
    assert store.subscriber_count(session.session_id) == 0


async def test_a_waiting_reader_is_woken_by_a_publish(store: SessionStore) -> None:
    session = store.open("run", None)
    subscription = store.subscribe(session.session_id)
    assert (await subscription.get() or {})["kind"] == "snapshot"
    reader = await blocked_reader(subscription)
    store.transition(session.session_id, S.VALIDATING)
    frame = await asyncio.wait_for(reader, 1)
    assert frame is not None and frame["phase"] == "validating_inputs"


async def test_a_slow_subscriber_is_cut_off_without_hurting_the_others(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = SessionStore(clock=clock, subscriber_queue_limit=4)
    session = store.open("run", None)
    slow = store.subscribe(session.session_id)
    fast = store.subscribe(session.session_id)
    slow_all = store.subscribe_all()
    fast_frames: list[dict] = []

    with caplog.at_level(logging.WARNING, logger="tray_app.sessions.store"):
        for index in range(10):
            store.report_progress(session.session_id, index, 10, "p")
            fast_frames.extend(drain(fast))

    assert slow.close_reason == "overflow"
    assert slow.closed
    assert slow.get_nowait() is None
    assert await asyncio.wait_for(slow.get(), 1) is None
    assert await asyncio.wait_for(collect(slow), 1) == []
    assert slow_all.close_reason == "overflow"
    assert store.subscriber_count(session.session_id) == 1
    assert store.subscriber_count() == 0
    assert [f["current"] for f in fast_frames[1:]] == list(range(10))
    assert "dropped slow subscriber of session" in caplog.text
    assert "dropped slow subscriber of all sessions" in caplog.text
    # The store goes on, and the fast subscriber gets the end.
    store.transition(session.session_id, S.ABORTED, outcome={"code": "cancelled"})
    assert [f["kind"] for f in drain(fast)] == ["aborted"]
    assert fast.close_reason == "finished"


async def test_phase_frames_cut_off_a_slow_subscriber_without_hurting_the_others(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = SessionStore(clock=clock, subscriber_queue_limit=3)
    session_id = store.open("run", None).session_id
    slow = store.subscribe(session_id)
    fast = store.subscribe(session_id)
    seen: list[dict] = []

    with caplog.at_level(logging.WARNING, logger="tray_app.sessions.store"):
        for state in WALK:
            store.transition(session_id, state)
            seen.extend(fast.take_all())

    assert slow.close_reason == "overflow" and slow.closed
    assert store.subscriber_count(session_id) == 1
    assert [f["kind"] for f in seen] == ["snapshot"] + ["phase"] * len(WALK)
    assert f"dropped slow subscriber of session {session_id}" in caplog.text


async def test_the_final_frame_overflows_a_full_subscriber(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = SessionStore(clock=clock, subscriber_queue_limit=2)
    session_id = store.open("run", None).session_id
    full = store.subscribe(session_id)
    store.report_progress(session_id, 1, 2, "p")  # snapshot + progress: the queue is full

    with caplog.at_level(logging.WARNING, logger="tray_app.sessions.store"):
        store.transition(session_id, S.FAILED, outcome={"code": "e", "message": "m"})

    assert full.close_reason == "overflow"
    assert full.take_all() == []
    assert "dropped slow subscriber of session" in caplog.text


async def test_a_waiting_reader_is_woken_by_the_final_frame(store: SessionStore) -> None:
    session = store.open("run", None)
    subscription = store.subscribe(session.session_id)
    assert subscription.take_all()[0]["kind"] == "snapshot"
    reader = await blocked_reader(subscription)
    store.transition(session.session_id, S.ABORTED, outcome={"code": "cancelled"})
    frame = await asyncio.wait_for(reader, 1)
    assert frame == {"kind": "aborted", "reason": {"code": "cancelled"}}
    assert await asyncio.wait_for(subscription.get(), 1) is None
    assert subscription.close_reason == "finished"


async def test_frames_pushed_while_a_reader_waits_all_arrive_in_order(
    store: SessionStore,
) -> None:
    session_id = store.open("run", None).session_id
    subscription = store.subscribe(session_id)
    subscription.take_all()
    reader = await blocked_reader(subscription)
    for state in WALK[:3]:  # the first wakes the reader; the rest queue behind it
        store.transition(session_id, state)
    first = await asyncio.wait_for(reader, 1)
    rest = subscription.take_all()
    phases = [frame["phase"] for frame in [first, *rest] if frame is not None]
    assert phases == ["validating_inputs", "rendering_template", "running_plugins"]
    # Once the reader is gone, pushes take the direct path again.
    store.transition(session_id, WALK[3])
    assert [f["phase"] for f in subscription.take_all()] == ["writing_cache"]


@pytest.mark.parametrize(
    ("terminal", "outcome", "frame"),
    [
        (S.DONE, {"path": "/x"}, {"kind": "done", "result": {"path": "/x"}}),
        (
            S.FAILED,
            {"code": "e", "message": "m"},
            {"kind": "failed", "phase": None, "error": {"code": "e", "message": "m"}},
        ),
        (S.ABORTED, {"code": "cancelled"}, {"kind": "aborted", "reason": {"code": "cancelled"}}),
    ],
)
async def test_subscribing_to_a_finished_session_yields_snapshot_and_end(
    store: SessionStore, walk, terminal: SessionState, outcome: dict, frame: dict
) -> None:
    session = walk(store.open("run", None), terminal)
    store.close(session.session_id, outcome)

    subscription = store.subscribe(session.session_id)
    frames = await asyncio.wait_for(collect(subscription), 1)

    assert frames[0]["kind"] == "snapshot"
    assert frames[0]["session"]["state"] == terminal.value
    expected = dict(frame)
    if terminal is S.FAILED:
        expected["phase"] = session.ended_in_phase
    assert frames[1:] == [expected]
    assert subscription.closed
    assert subscription.close_reason == "finished"
    assert store.subscriber_count(session.session_id) == 0


async def test_terminal_but_unclosed_session_streams_until_close(store: SessionStore) -> None:
    session = store.open("run", None)
    store.transition(session.session_id, S.ABORTED)
    subscription = store.subscribe(session.session_id)
    reader = asyncio.create_task(collect(subscription))
    store.close(session.session_id, {"code": "cancelled"})
    frames = await asyncio.wait_for(reader, 1)
    assert [f["kind"] for f in frames] == ["snapshot", "aborted"]


@pytest.mark.parametrize("limit", [0, 1])
def test_queue_limit_must_hold_a_finished_sessions_stream(limit: int) -> None:
    with pytest.raises(ValueError, match="at least 2"):
        SessionStore(subscriber_queue_limit=limit)


async def test_smallest_queue_limit_still_delivers_a_finished_session(clock: FakeClock) -> None:
    store = SessionStore(clock=clock, subscriber_queue_limit=2)
    session = store.open("run", None)
    store.transition(session.session_id, S.ABORTED, outcome={"code": "cancelled"})
    frames = await asyncio.wait_for(collect(store.subscribe(session.session_id)), 1)
    assert [f["kind"] for f in frames] == ["snapshot", "aborted"]


def test_subscribe_to_unknown_session_raises(store: SessionStore) -> None:
    with pytest.raises(UnknownSession):
        store.subscribe("nope")


async def test_unsubscribe_stops_delivery_and_detaches(store: SessionStore) -> None:
    session = store.open("run", None)
    leaving = store.subscribe(session.session_id)
    staying = store.subscribe(session.session_id)
    drain(staying)
    assert (await asyncio.wait_for(leaving.get(), 1) or {})["kind"] == "snapshot"
    blocked = await blocked_reader(leaving)

    leaving.close()
    leaving.close()  # idempotent

    assert await asyncio.wait_for(blocked, 1) is None  # a blocked reader is released
    assert leaving.close_reason == "unsubscribed"
    assert store.subscriber_count(session.session_id) == 1
    store.transition(session.session_id, S.VALIDATING)
    assert leaving.get_nowait() is None
    assert [f["kind"] for f in drain(staying)] == ["phase"]
    staying.close()
    assert store.subscriber_count(session.session_id) == 0


async def test_subscribe_all_streams_every_session_tagged_with_its_id(
    store: SessionStore,
) -> None:
    existing = store.open("project", None)
    everything = store.subscribe_all()
    assert store.subscriber_count() == 1
    newcomer = store.open("run", None, title="Run 1")
    store.transition(existing.session_id, S.VALIDATING)
    store.transition(newcomer.session_id, S.FAILED, outcome={"code": "x"})
    store.transition(existing.session_id, S.ABORTED, outcome={"code": "cancelled"})

    frames = drain(everything)
    assert frames[0]["kind"] == "snapshot"
    assert [h["session_id"] for h in frames[0]["sessions"]] == [existing.session_id]
    assert [(f["kind"], f["session_id"]) for f in frames[1:]] == [
        ("opened", newcomer.session_id),
        ("phase", existing.session_id),
        ("failed", newcomer.session_id),
        ("aborted", existing.session_id),
    ]
    assert frames[1]["session"]["title"] == "Run 1"
    assert frames[3]["error"] == {"code": "x"}
    assert not everything.closed  # the all-sessions stream outlives any session
    everything.close()
    assert store.subscriber_count() == 0


async def test_close_all_subscriptions_ends_every_stream(store: SessionStore) -> None:
    first, second, ended = (store.open("run", None) for _ in range(3))
    streams = [
        store.subscribe(first.session_id),
        store.subscribe(first.session_id),
        store.subscribe(second.session_id),
        store.subscribe(ended.session_id),
        store.subscribe_all(),
    ]
    # Terminal but not yet closed: no longer live, its stream still open.
    store.transition(ended.session_id, S.FAILED)
    streams[3].take_all()
    readers = [asyncio.create_task(collect(s)) for s in streams]

    store.close_all_subscriptions()

    results = await asyncio.wait_for(asyncio.gather(*readers), 1)
    kinds_seen = [[f["kind"] for f in frames] for frames in results]
    assert kinds_seen == [["snapshot"]] * 3 + [[], ["snapshot"]]
    assert {s.close_reason for s in streams} == {"shutdown"}
    assert store.subscriber_count(first.session_id) == 0
    assert store.subscriber_count() == 0
    store.transition(first.session_id, S.VALIDATING)  # the store carries on
    assert all(s.get_nowait() is None for s in streams)


async def test_eviction_ends_subscriptions_and_forgets_the_session(clock: FakeClock) -> None:
    store = SessionStore(clock=clock, retention=Retention(max_finished=1))
    first = store.open("run", None)
    subscription = store.subscribe(first.session_id)
    reader = asyncio.create_task(collect(subscription))
    store.transition(first.session_id, S.ABORTED, outcome={"code": "cancelled"})
    late = store.subscribe(first.session_id)  # finished, not yet evicted
    second = store.open("run", None)
    store.transition(second.session_id, S.ABORTED, outcome={"code": "cancelled"})  # evicts first

    assert [f["kind"] for f in await asyncio.wait_for(reader, 1)] == ["snapshot", "aborted"]
    assert [f["kind"] for f in await asyncio.wait_for(collect(late), 1)] == [
        "snapshot",
        "aborted",
    ]
    assert store.get(first.session_id) is None
    with pytest.raises(UnknownSession):
        store.subscribe(first.session_id)


def test_subscription_stream_basics() -> None:
    detached: list[Subscription] = []
    subscription = Subscription(3, detached.append)
    assert subscription.push({"kind": "a"})
    assert subscription.push({"kind": "b"})
    assert subscription.pending == 2
    subscription.finish()
    assert detached == [subscription]
    assert subscription.push({"kind": "ignored"})  # after the end: dropped, not an overflow
    assert not subscription.closed  # still has frames to drain
    assert subscription.get_nowait() == {"kind": "a"}
    assert subscription.get_nowait() == {"kind": "b"}
    assert subscription.closed
    subscription.finish("other")  # a second end does not change the reason
    assert subscription.close_reason == "finished"
    assert detached == [subscription]
    assert subscription.push_last({"kind": "late"})  # after the end: dropped as well
    assert subscription.take_all() == []


def test_take_all_returns_every_queued_frame_and_empties_the_queue() -> None:
    subscription = Subscription(10, lambda _s: None, "session-1")
    assert subscription.take_all() == []
    for index in range(3):
        subscription.push({"kind": "n", "i": index})
    assert [f["i"] for f in subscription.take_all()] == [0, 1, 2]
    assert subscription.pending == 0
    assert subscription.session_id == "session-1"


async def test_subscription_async_iteration_drains_then_stops() -> None:
    subscription = Subscription(10, lambda _s: None)
    assert subscription.__aiter__() is subscription
    for index in range(3):
        subscription.push({"kind": "n", "i": index})
    subscription.finish("evicted")
    frames = await asyncio.wait_for(collect(subscription), 1)
    assert [f["i"] for f in frames] == [0, 1, 2]
    assert subscription.close_reason == "evicted"
