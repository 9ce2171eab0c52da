"""Slow and anonymous clients are shed: real sockets against a real LocalApi on loopback.

Each test waits for the server's own reaction (a 408, a 503, a close code)
with a generous bound; nothing asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from typing import Any

import aiohttp
import pytest

from tray_app.api.events import CLOSE_SLOW_CONSUMER, SEND_BUFFER, UNREAD_WINDOW
from tray_app.api.shedding import ShedPolicy
from tray_app.sessions import SessionKind

from .conftest import Api, receive_json, wait_until

#: Generous: the machine may be loaded; the server's deadline is what is tested.
LIMIT_S = 30.0


class Raw:
    """A plain TCP connection speaking HTTP/1.1 by hand."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, api: Api) -> Raw:
        reader, writer = await asyncio.open_connection("127.0.0.1", api.api.port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def response(self) -> tuple[int, dict[str, str], Any]:
        """Status, headers and JSON body of the next response (read to its end)."""
        async with asyncio.timeout(LIMIT_S):
            head = await self.reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return int(lines[0].split()[1]), headers, json.loads(body) if body else None

    async def closed_by_server(self) -> bool:
        async with asyncio.timeout(LIMIT_S):
            try:
                return await self.reader.read(1) == b""
            except ConnectionResetError:
                return True

    def close(self) -> None:
        self.writer.close()


def request(api: Api, method: str, path: str, *, token: bool = True, extra: str = "") -> bytes:
    auth = f"Authorization: Bearer {api.api.token}\r\n" if token else ""
    return (
        f"{method} /api/v1{path} HTTP/1.1\r\nHost: 127.0.0.1:{api.api.port}\r\n{auth}{extra}\r\n"
    ).encode()


def quick(**changes: Any) -> ShedPolicy:
    return ShedPolicy(**{"header_timeout_s": 0.5, "body_timeout_s": 0.5, **changes})


async def health(api: Api) -> dict[str, Any]:
    async with api.http.get(f"{api.base}/health") as response:
        payload: dict[str, Any] = await response.json()
    return payload


async def test_headers_trickling_in_get_a_408_envelope_and_a_close(make_api: Any) -> None:
    api: Api = await make_api(shed_policy=quick())
    raw = await Raw.open(api)
    await raw.send(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1")  # and never the rest
    status, headers, body = await raw.response()
    assert status == 408
    assert headers["content-type"].startswith("application/json")
    assert body["error"]["code"] == "request_timeout"
    assert "headers" in body["error"]["message"]
    assert await raw.closed_by_server()
    assert (await health(api))["shed"]["slow_headers"] == 1


async def test_a_connection_that_sends_nothing_gets_a_408(make_api: Any) -> None:
    api: Api = await make_api(shed_policy=quick())
    raw = await Raw.open(api)
    status, _headers, body = await raw.response()
    assert (status, body["error"]["code"]) == (408, "request_timeout")
    assert await raw.closed_by_server()


async def test_a_kept_alive_connection_is_not_timed_out_between_requests(make_api: Any) -> None:
    api: Api = await make_api(shed_policy=quick())
    kept = await Raw.open(api)
    await kept.send(request(api, "GET", "/sessions"))
    assert (await kept.response())[0] == 200
    # Proof that a header deadline has passed since: a silent connection got its 408.
    silent = await Raw.open(api)
    assert (await silent.response())[0] == 408
    await kept.send(request(api, "GET", "/sessions"))
    assert (await kept.response())[0] == 200
    kept.close()


async def test_a_body_that_does_not_arrive_gets_a_408(make_api: Any) -> None:
    api: Api = await make_api(shed_policy=quick())
    raw = await Raw.open(api)
    head = request(api, "POST", "/sessions", extra="Content-Type: application/json\r\n")
    await raw.send(head[:-2] + b"Content-Length: 200\r\n\r\n" + b'{"kind": "pro')
    status, _headers, body = await raw.response()
    assert (status, body["error"]["code"]) == (408, "request_timeout")
    assert "body" in body["error"]["message"]
    assert await raw.closed_by_server()
    assert (await health(api))["shed"]["slow_bodies"] == 1


async def test_without_a_token_a_slow_body_is_not_waited_for(make_api: Any) -> None:
    api: Api = await make_api(shed_policy=quick(body_timeout_s=600.0))
    raw = await Raw.open(api)
    head = request(api, "POST", "/sessions", token=False)
    await raw.send(head[:-2] + b"Content-Length: 200\r\n\r\n{")
    status, _headers, body = await raw.response()
    assert (status, body["error"]["code"]) == (401, "unauthorized")


async def test_a_declared_body_over_the_cap_is_refused_at_once(make_api: Any) -> None:
    api: Api = await make_api(shed_policy=quick(body_timeout_s=600.0))
    raw = await Raw.open(api)
    head = request(api, "POST", "/sessions")
    await raw.send(head[:-2] + f"Content-Length: {10 * 1024 * 1024}\r\n\r\n".encode())
    status, _headers, body = await raw.response()
    assert (status, body["error"]["code"]) == (413, "payload_too_large")


@pytest.mark.parametrize("where", ["header", "request line"])
async def test_oversize_headers_and_request_lines_get_the_envelope(
    make_api: Any, where: str
) -> None:
    api: Api = await make_api()
    raw = await Raw.open(api)
    if where == "header":
        data = request(api, "GET", "/sessions", extra=f"X-Big: {'a' * 100_000}\r\n")
    else:
        data = request(api, "GET", f"/sessions?state={'a' * 100_000}")
    # The server may answer and close before it has read all of it.
    with contextlib.suppress(ConnectionError):
        await raw.send(data)
    status, headers, body = await raw.response()
    assert status == 431
    assert headers["content-type"].startswith("application/json")
    assert body["error"]["code"] == "headers_too_large"
    assert (await health(api))["shed"]["oversize_requests"] == 1


async def test_garbage_gets_a_400_envelope(make_api: Any) -> None:
    api: Api = await make_api()
    raw = await Raw.open(api)
    await raw.send(b"\x16\x03\x01 this is not http\r\n\r\n")
    status, _headers, body = await raw.response()
    assert (status, body["error"]["code"]) == (400, "bad_request")


async def test_connections_without_a_token_are_bounded_oldest_idle_first(
    make_api: Any,
) -> None:
    api: Api = await make_api(shed_policy=quick(header_timeout_s=600.0, max_unauthenticated=3))
    # A connection that showed the token does not count against the bound.
    proven = await Raw.open(api)
    await proven.send(request(api, "GET", "/sessions"))
    assert (await proven.response())[0] == 200
    idle = [await Raw.open(api) for _ in range(3)]
    await wait_until(lambda: len(api.api.gate.unproven) == 3, LIMIT_S)
    newcomer = await Raw.open(api)
    status, _headers, body = await idle[0].response()
    assert (status, body["error"]["code"]) == (503, "too_many_connections")
    assert await idle[0].closed_by_server()
    # The newcomer got a slot, and so does the proven connection's next request.
    await newcomer.send(request(api, "GET", "/sessions"))
    assert (await newcomer.response())[0] == 200
    await proven.send(request(api, "GET", "/sessions"))
    assert (await proven.response())[0] == 200
    report = await health(api)
    assert report["shed"]["unauthenticated_evicted"] == 1
    assert report["connections"]["unauthenticated"] <= 3
    for raw in (*idle, newcomer, proven):
        raw.close()


async def test_a_stalled_event_socket_is_closed_with_4008_and_a_small_buffer(
    make_api: Any, caplog: pytest.LogCaptureFixture
) -> None:
    api: Api = await make_api(stall_timeout_s=0.5, close_linger_s=LIMIT_S)
    session = api.store.open(SessionKind.RUN, {})
    sid = session.session_id
    # Never reads until the server reacts (and then answers no ping: aiohttp's client would
    # pong from receive() a ping read after the server had already hung up, and raise).
    async with api.ws("/events", autoping=False) as stalled:
        await wait_until(lambda: len(api.api.routes.streams) == 1, LIMIT_S)
        stream = next(iter(api.api.routes.streams))
        assert stream.transport is not None
        sock = stream.transport.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) <= 2 * SEND_BUFFER
        padding = "x" * 2000
        for _batch in range(400):
            if (await health(api))["shed"]["slow_event_sockets"]:
                break
            for index in range(20):
                api.store.warn(sid, f"{index} {padding}")
            await asyncio.sleep(0.02)  # let the writer run into the full buffers
        assert (await health(api))["shed"]["slow_event_sockets"] == 1
        # Now read: whatever got through, then the close frame with 4008.
        async with asyncio.timeout(LIMIT_S):
            while True:
                message = await stalled.receive()
                if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.PING):
                    break
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert message.data == CLOSE_SLOW_CONSUMER
    said = [r.getMessage() for r in caplog.records if "slow WebSocket" in r.getMessage()]
    assert said == ["closing slow WebSocket client of /api/v1/events (4008)"]
    # The store and new subscribers carry on.
    async with api.ws(f"/sessions/{sid}/events") as fresh:
        assert (await receive_json(fresh))["kind"] == "snapshot"


async def test_a_subscriber_answering_no_ping_is_sent_one_window_a_reader_gets_every_frame(
    make_api: Any,
) -> None:
    api: Api = await make_api(stall_timeout_s=2.0, close_linger_s=LIMIT_S)
    sid = api.store.open(SessionKind.RUN, {}).session_id
    padding = "x" * 2000
    count = 200  # about 400 KB of frames: many windows
    # aiohttp's client takes every byte off the socket at once; without autoping it never
    # confirms any, as a client that does not read would not.
    async with api.ws("/events", autoping=False) as stalled, api.ws("/events") as reader:
        await wait_until(lambda: len(api.api.routes.streams) == 2, LIMIT_S)
        assert (await receive_json(reader, LIMIT_S))["kind"] == "snapshot"
        for index in range(count):
            api.store.warn(sid, f"{index} {padding}")
        seen = []
        while len(seen) < count:  # the reader answers each ping from receive()
            frame = await receive_json(reader, LIMIT_S)
            if frame["kind"] == "warning":
                seen.append(frame["message"])
        assert seen == [f"{index} {padding}" for index in range(count)]
        # The other was sent at most a window (and the frame that crossed it), then shed.
        await wait_until(lambda: api.api.routes.gate.counters.slow_event_sockets == 1, LIMIT_S)
        received, largest = 0, 0
        async with asyncio.timeout(LIMIT_S):
            while True:
                message = await stalled.receive()
                if message.type is aiohttp.WSMsgType.TEXT:
                    size = len(message.data.encode())
                    received, largest = received + size, max(largest, size)
                elif message.type is not aiohttp.WSMsgType.PING:
                    break
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert message.data == CLOSE_SLOW_CONSUMER
        assert 0 < received <= UNREAD_WINDOW + largest
