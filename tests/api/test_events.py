"""WebSocket event streams: snapshot first, fan-out, clean closes, heartbeats, slow clients."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from tests.support.clock import FakeClock
from tray_app.api.events import CLOSE_SLOW_CONSUMER
from tray_app.creation.fields import fields_to_dicts, parse_fields
from tray_app.sessions import SessionKind, SessionState, SessionStore

from .conftest import Api, receive_json, wait_until

PROMPT = {
    "plugin": "plate_map",
    "reason": "Which layout?",
    "fields": [{"id": "layout", "label": "Layout", "type": "string", "required": True}],
    "attempt": 1,
}


def walk_to_done(store: SessionStore, session_id: str) -> None:
    """Drive a session through every phase, with progress, a prompt and a warning."""
    store.transition(session_id, SessionState.VALIDATING)
    store.transition(session_id, SessionState.RENDERING)
    store.transition(session_id, SessionState.PLUGIN_PASS)
    store.report_progress(session_id, 1, 2, "plate_map")
    store.await_input(session_id, PROMPT)
    store.transition(session_id, SessionState.PLUGIN_PASS)
    store.warn(session_id, "plate map is sparse")
    store.transition(session_id, SessionState.CACHE_WRITE)
    store.transition(session_id, SessionState.POST_VALIDATE)
    store.transition(session_id, SessionState.SYNC_QUEUED)
    store.transition(
        session_id,
        SessionState.DONE,
        outcome={"path": "/data/run", "sync_status": "queued", "warnings": []},
    )


async def read_until_closed(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    """Text frames up to the server's close frame, whose code is checked via ``ws.close_code``."""
    frames = []
    while True:
        message = await ws.receive(timeout=5)
        if message.type is not aiohttp.WSMsgType.TEXT:
            assert message.type is aiohttp.WSMsgType.CLOSE, message
            return frames
        frames.append(message.json())


async def close_frame_code(ws: aiohttp.ClientWebSocketResponse) -> int:
    """The code in the server's close frame (the client's own close_code may say 1006
    when the server has already dropped the connection after sending it)."""
    try:
        message = await ws.receive(timeout=5)
    except aiohttp.ClientConnectionResetError:  # its pong to a lag probe came too late
        message = await ws.receive(timeout=5)
    assert message.type is aiohttp.WSMsgType.CLOSE, message
    return int(message.data)


async def test_two_subscribers_get_every_frame_then_a_clean_close(make_api: Any) -> None:
    api: Api = await make_api()
    session = api.store.open(SessionKind.RUN, {})
    sid = session.session_id
    async with (
        api.ws(f"/sessions/{sid}/events") as first,
        api.ws(f"/sessions/{sid}/events") as second,
    ):
        assert (await receive_json(first))["kind"] == "snapshot"
        assert (await receive_json(second))["kind"] == "snapshot"
        walk_to_done(api.store, sid)
        got_first = await read_until_closed(first)
        got_second = await read_until_closed(second)
        assert first.close_code == second.close_code == 1000
    kinds = [f["kind"] for f in got_first]
    assert kinds == [
        "phase", "phase", "phase", "progress", "input_required", "phase", "warning",
        "phase", "phase", "phase", "done",
    ]  # fmt: skip
    assert got_first == got_second
    assert got_first[0] == {
        "kind": "phase",
        "phase": "validating_inputs",
        "at": "2026-01-05T09:00:00Z",
    }
    # The wire type of a field names every key, unset ones as null.
    assert got_first[4]["fields"] == fields_to_dicts(parse_fields(PROMPT["fields"]))
    assert got_first[-1]["result"]["path"] == "/data/run"
    await wait_until(lambda: not api.api.routes.streams)
    assert api.store.subscriber_count(sid) == 0


async def test_a_late_subscriber_gets_the_snapshot_and_the_terminal_frame(make_api: Any) -> None:
    api: Api = await make_api()
    session = api.store.open(SessionKind.RUN, {})
    walk_to_done(api.store, session.session_id)
    async with api.ws(f"/sessions/{session.session_id}/events") as ws:
        frames = await read_until_closed(ws)
        assert ws.close_code == 1000
    assert [f["kind"] for f in frames] == ["snapshot", "done"]
    assert frames[0]["session"]["state"] == "done"
    assert frames[1]["result"]["sync_status"] == "queued"


async def test_all_events_stream_tags_frames_with_their_session(make_api: Any) -> None:
    api: Api = await make_api()
    existing = api.store.open(SessionKind.PROJECT, {})
    async with api.ws("/events") as ws:
        snapshot = await receive_json(ws)
        assert snapshot["kind"] == "snapshot"
        assert [h["session_id"] for h in snapshot["sessions"]] == [existing.session_id]
        new = api.store.open(SessionKind.RUN, {})
        api.store.transition(new.session_id, SessionState.VALIDATING)
        opened = await receive_json(ws)
        assert opened["kind"] == "opened"
        assert opened["session"]["session_id"] == new.session_id
        phase = await receive_json(ws)
        assert phase["session_id"] == new.session_id
        assert phase["phase"] == "validating_inputs"


async def test_all_events_subscribers_share_a_snapshot_until_the_next_change(
    make_api: Any, clock: FakeClock
) -> None:
    api: Api = await make_api()
    first = api.store.open(SessionKind.PROJECT, {})
    async with api.ws("/events") as one, api.ws("/events") as two:
        a, b = await receive_json(one), await receive_json(two)
        assert a == b
        assert [h["session_id"] for h in a["sessions"]] == [first.session_id]
        # Any change (a heartbeat too) means the next subscriber sees a new snapshot.
        second = api.store.open(SessionKind.RUN, {})
        clock.advance(seconds=30)
        api.store.heartbeat(first.session_id)
        async with api.ws("/events") as three:
            c = await receive_json(three)
    ids = [h["session_id"] for h in c["sessions"]]
    assert sorted(ids) == sorted([first.session_id, second.session_id])
    beat = next(h for h in c["sessions"] if h["session_id"] == first.session_id)
    assert beat["last_heartbeat"] != a["sessions"][0]["last_heartbeat"]


async def test_messages_on_an_open_socket_keep_a_waiting_session_alive(
    make_api: Any, clock: FakeClock
) -> None:
    api: Api = await make_api(store_kwargs={"abandon_after": timedelta(hours=1)})
    watched = api.store.open(SessionKind.RUN, {})
    unwatched = api.store.open(SessionKind.RUN, {})
    for session in (watched, unwatched):
        for state in (SessionState.VALIDATING, SessionState.RENDERING, SessionState.PLUGIN_PASS):
            api.store.transition(session.session_id, state)
        api.store.await_input(session.session_id, PROMPT)
    async with api.ws(f"/sessions/{watched.session_id}/events") as ws:
        assert (await receive_json(ws))["session"]["state"] == "input_required"
        clock.advance(minutes=50)
        await ws.send_str("still here")
        await wait_until(lambda: watched.last_heartbeat == clock.now)
        clock.advance(minutes=20)  # 70 min since the prompt, 20 since the socket spoke
        report = api.store.gc_once()
    assert report.abandoned == [unwatched.session_id]
    assert watched.state is SessionState.INPUT_REQUIRED


async def test_an_open_socket_heartbeats_a_waiting_session_on_a_timer(
    make_api: Any, clock: FakeClock
) -> None:
    api: Api = await make_api(heartbeat_interval_s=0.02)
    session = api.store.open(SessionKind.RUN, {})
    for state in (SessionState.VALIDATING, SessionState.RENDERING, SessionState.PLUGIN_PASS):
        api.store.transition(session.session_id, state)
    async with api.ws(f"/sessions/{session.session_id}/events") as ws:
        await receive_json(ws)
        assert session.last_heartbeat == clock.now  # connecting is a heartbeat
        api.store.await_input(session.session_id, PROMPT)
        assert (await receive_json(ws))["kind"] == "input_required"
        clock.advance(minutes=61)
        await wait_until(lambda: session.last_heartbeat == clock.now)
        assert api.store.gc_once().abandoned == []
        # Once the session moves on the timer stops: no heartbeat at a later time.
        api.store.transition(session.session_id, SessionState.PLUGIN_PASS)
        assert (await receive_json(ws))["kind"] == "phase"
        clock.advance(minutes=5)
        await ws.send_str("ping")  # proves the loop ran well past the timer interval
        await wait_until(lambda: session.last_heartbeat == clock.now)


async def test_a_slow_consumer_is_dropped_without_stalling_others(make_api: Any) -> None:
    api: Api = await make_api(store_kwargs={"subscriber_queue_limit": 8})
    session = api.store.open(SessionKind.RUN, {})
    sid = session.session_id
    async with api.ws(f"/sessions/{sid}/events") as slow:
        await receive_json(slow)
        for index in range(20):  # all in one loop turn: more than the socket can take
            api.store.warn(sid, f"warning {index}")
        frames = await read_until_closed(slow)
        assert slow.close_code == CLOSE_SLOW_CONSUMER
        assert frames == []
    assert api.store.subscriber_count(sid) == 0
    # The store and new subscribers carry on.
    async with api.ws(f"/sessions/{sid}/events") as fresh:
        assert (await receive_json(fresh))["session"]["warnings"][-1] == "warning 19"
        api.store.warn(sid, "after")
        assert (await receive_json(fresh))["message"] == "after"


async def test_server_stop_closes_sockets_with_going_away(make_api: Any) -> None:
    api: Api = await make_api()
    session = api.store.open(SessionKind.RUN, {})
    async with api.ws(f"/sessions/{session.session_id}/events") as one, api.ws("/events") as all_:
        await receive_json(one)
        await receive_json(all_)
        await api.api.stop()
        assert await close_frame_code(one) == 1001
        assert await close_frame_code(all_) == 1001
    assert api.store.subscriber_count(session.session_id) == 0
    assert api.store.subscriber_count() == 0


async def test_a_client_leaving_unsubscribes(make_api: Any) -> None:
    api: Api = await make_api()
    session = api.store.open(SessionKind.RUN, {})
    async with api.ws(f"/sessions/{session.session_id}/events") as ws:
        await receive_json(ws)
        assert api.store.subscriber_count(session.session_id) == 1
    await wait_until(lambda: api.store.subscriber_count(session.session_id) == 0)
    await wait_until(lambda: not api.api.routes.streams)


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1:1", "null"])
async def test_cross_origin_websocket_is_refused(make_api: Any, origin: str) -> None:
    api: Api = await make_api()
    session = api.store.open(SessionKind.RUN, {})
    for path in [f"/sessions/{session.session_id}/events", "/events"]:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            async with api.ws(path, headers={"Origin": origin}):
                pass
        assert refused.value.status == 403
    assert api.store.subscriber_count(session.session_id) == 0
    assert api.store.subscriber_count() == 0


async def test_same_origin_websocket_is_accepted(make_api: Any) -> None:
    api: Api = await make_api()
    async with api.ws("/events", headers={"Origin": f"http://localhost:{api.api.port}"}) as ws:
        assert (await receive_json(ws))["kind"] == "snapshot"


async def test_websocket_without_token_is_refused(make_api: Any) -> None:
    api: Api = await make_api()
    async with aiohttp.ClientSession() as anonymous:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            async with anonymous.ws_connect(f"{api.base}/events"):
                pass
    assert refused.value.status == 401
    assert api.store.subscriber_count() == 0
