"""WebSocket event streams: a subscription's frames pushed to one socket.

One stream per socket: the handler task reads client messages (each one is
a heartbeat) while a writer task sends frames. A per-session socket also
heartbeats its session with one timer, armed only while the session waits
for input, so idle sockets cost nothing.

Slow clients never stall the store or other sockets, and cost little while
they last: a socket's kernel send buffer and aiohttp's buffer in front of it
are small (``SEND_BUFFER``, ``WRITE_BUFFER``). A client is closed with 4008
when its unread frames pass a bound in frames (the store's per-subscriber
queue) or in seconds: a send has waited ``stall_timeout_s``, or a ping sent
behind the frames (at most every ``LAG_PROBE_S`` while frames flow) has had
no pong for ``stall_timeout_s``. The ping matters on loopback, where the
client's kernel keeps accepting data its program never reads (its receive
buffer grows to tens of MiB), so the server's sends never block. A client
that does not take even the close frame within ``close_linger_s`` is aborted.

A pong also says how far the client has read: everything sent before its
ping. Once more than ``UNREAD_WINDOW`` bytes are sent and not confirmed so,
the writer stops sending to that socket and waits for the pong, with a ping
out. So a stalled client costs one window of sends and then nothing per
frame but a place in its queue (a syscall per frame and subscriber was most
of the loop's time while 200 stalled subscribers were fed); a client that
reads answers the ping within a round trip and does not notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable

from aiohttp import web
from aiohttp.http import WSMsgType

from tray_app.api.wire import FrameEncoder
from tray_app.loop_timer import LoopTimer
from tray_app.sessions import SessionState, Subscription
from tray_app.sessions import frames as frame_kinds
from tray_app.sessions import subscription as reasons

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
#: Private-use close code: the client read too slowly and was dropped.
CLOSE_SLOW_CONSUMER = 4008

_CLOSE_FOR_REASON: dict[str | None, tuple[int, bytes]] = {
    reasons.FINISHED: (CLOSE_NORMAL, b"session finished"),
    reasons.EVICTED: (CLOSE_NORMAL, b"session evicted"),
    reasons.OVERFLOW: (CLOSE_SLOW_CONSUMER, b"slow consumer"),
    reasons.SHUTDOWN: (CLOSE_GOING_AWAY, b"server shutting down"),
}

#: Largest message a client may send (clients only send keep-alive chatter).
MAX_CLIENT_MESSAGE = 64 * 1024
#: Bytes aiohttp buffers for a socket before its writer waits for the client
#: (aiohttp's default is 256 KiB, and a stalled client pinned all of it).
WRITE_BUFFER = 16 * 1024
#: SO_SNDBUF of an event socket; Linux doubles it and stops autotuning it (up to 4 MiB).
SEND_BUFFER = 16 * 1024
#: While frames flow, a ping follows them at most this often; its pong says the client reads.
LAG_PROBE_S = 2.0
#: Bytes sent and not yet confirmed read (by a pong) after which a socket waits for its reader.
UNREAD_WINDOW = 16 * 1024


class EventStream:
    """Pushes one subscription to one WebSocket until either side ends."""

    def __init__(
        self,
        subscription: Subscription,
        encoder: FrameEncoder,
        *,
        heartbeat: Callable[[], None] | None = None,
        heartbeat_interval_s: float = 60.0,
        stall_timeout_s: float = 10.0,
        close_linger_s: float = 5.0,
        on_slow: Callable[[str], None] | None = None,
    ) -> None:
        self.subscription = subscription
        self._encoder = encoder
        self._heartbeat = heartbeat
        self._heartbeat_interval_s = heartbeat_interval_s
        self._stall_timeout_s = stall_timeout_s
        self._close_linger_s = close_linger_s
        self._on_slow = on_slow
        self._timer: asyncio.TimerHandle | None = None
        self.ws = web.WebSocketResponse(
            timeout=2.0,
            max_msg_size=MAX_CLIENT_MESSAGE,
            compress=False,
            autoping=False,  # pongs are read here: they time the lag probe
            writer_limit=WRITE_BUFFER,
        )
        self.close_code: int | None = None
        #: The connection, once upgraded.
        self.transport: asyncio.Transport | None = None
        self._path = ""
        self._probe_sent = -LAG_PROBE_S
        #: Running while a ping is out: no pong within the stall bound is 4008.
        self._probe_deadline = LoopTimer(self._lagging)
        #: Bytes of frames sent; bytes the client has confirmed reading (the mark of the
        #: last ping answered); the mark and payload of the ping that is out.
        self._sent = 0
        self._confirmed = 0
        self._probe_mark = 0
        self._probe_payload = b""
        self._probes = 0
        #: Resolved by a pong (or the end of the socket) while the writer waits for its reader.
        self._caught_up: asyncio.Future[None] | None = None
        self._stopped = False
        self._shedding: asyncio.Task[None] | None = None

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = self.ws
        try:
            await ws.prepare(request)
        except BaseException:
            self.subscription.close()
            raise
        transport = self.transport = request.transport
        if transport is not None:
            _shrink_buffers(transport)
        self._path = request.path
        # The first probe goes right behind the first burst (the snapshot; _probe_sent starts
        # a whole LAG_PROBE_S back): a reader confirms it within a round trip; a client that
        # never reads has used its window already.
        self._beat()
        writer = asyncio.create_task(self._write())
        try:
            async for message in ws:
                kind = message.type
                if kind in (WSMsgType.TEXT, WSMsgType.BINARY):
                    self._beat()
                elif kind is WSMsgType.PONG:
                    self._pong(message.data)
                elif kind is WSMsgType.PING:
                    await ws.pong(message.data)
                elif kind is WSMsgType.ERROR:
                    break
        finally:
            self._probe_deadline.cancel()
            self._stop_timer()
            # The client left (or we are closing): stop the writer waiting for frames.
            self.subscription.close()
            self._stop_writer()
            done, _ = await asyncio.wait({writer}, timeout=self._close_linger_s + 1.0)
            if not done:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer
            self._stop_timer()
        return ws

    def shut_down(self) -> None:
        """End the stream from the server side (close code 1001)."""
        self.subscription.finish(reasons.SHUTDOWN)

    # ---- writer ------------------------------------------------------------
    async def _write(self) -> None:
        ws = self.ws
        subscription = self.subscription
        try:
            while True:
                frame = await subscription.get()
                if frame is None:
                    break
                # The seconds bound: one deadline per burst of queued frames.
                async with asyncio.timeout(self._stall_timeout_s):
                    for queued in (frame, *subscription.take_all()):
                        if self._sent - self._confirmed > UNREAD_WINDOW:
                            await self._wait_for_reader()
                            if self._stopped:
                                break  # closed while waiting: the frame is not wanted
                        data = self._encoder.encode(queued)
                        await ws.send_frame(data, WSMsgType.TEXT)
                        self._sent += len(data)
                        self._track_waiting(queued)
                    if not self._stopped:
                        await self._probe_lag()
        except TimeoutError:
            await self._close(CLOSE_SLOW_CONSUMER, b"slow consumer")
            return
        except (ConnectionError, RuntimeError):
            subscription.close()  # the socket went away under us
            return
        code_message = _CLOSE_FOR_REASON.get(subscription.close_reason)
        if code_message is not None:  # else unsubscribed: the client already left
            await self._close(*code_message)

    async def _close(self, code: int, message: bytes) -> None:
        """Close with ``code``; a client that will not take the close frame is aborted."""
        if self.close_code is not None:
            return
        self.close_code = code
        self.subscription.close()
        self._stop_writer()
        self._probe_deadline.cancel()
        if code == CLOSE_SLOW_CONSUMER and self._on_slow is not None:
            self._on_slow(self._path)  # counted and logged by the routes
        closed = False
        with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
            async with asyncio.timeout(self._close_linger_s):
                await self.ws.close(code=code, message=message)
                closed = True
        if not closed and self.transport is not None:
            self.transport.abort()

    # ---- the lag probe ---------------------------------------------------------------------
    async def _probe_lag(self) -> None:
        """After a burst, a ping behind it (unless one is out or one went out lately)."""
        if self._probe_deadline.active:
            return
        if asyncio.get_running_loop().time() - self._probe_sent >= LAG_PROBE_S:
            await self._send_probe()

    async def _send_probe(self) -> None:
        """A ping behind everything sent so far; no pong within the stall bound is 4008."""
        loop = asyncio.get_running_loop()
        self._probe_sent = loop.time()
        self._probe_mark = self._sent
        self._probes += 1
        # Numbered, so that only the answer to this ping confirms what it follows.
        self._probe_payload = b"lag %d" % self._probes
        self._probe_deadline.start(self._stall_timeout_s)
        await self.ws.ping(self._probe_payload)

    def _pong(self, payload: bytes) -> None:
        if not self._probe_deadline.active or payload != self._probe_payload:
            return  # unsolicited, or an older ping's: confirms nothing
        self._probe_deadline.cancel()
        self._confirmed = self._probe_mark
        waiting = self._caught_up
        if waiting is not None and not waiting.done():
            waiting.set_result(None)

    async def _wait_for_reader(self) -> None:
        """Until the client has confirmed all but a window of what was sent (or the end)."""
        while self._sent - self._confirmed > UNREAD_WINDOW and not self._stopped:
            if not self._probe_deadline.active:
                await self._send_probe()
            self._caught_up = asyncio.get_running_loop().create_future()
            try:
                await self._caught_up
            finally:
                self._caught_up = None

    def _stop_writer(self) -> None:
        """Nothing more is to be sent but a close frame (the client left, or is being closed)."""
        self._stopped = True
        waiting = self._caught_up
        if waiting is not None and not waiting.done():
            waiting.set_result(None)

    def _lagging(self) -> None:
        """No pong within the bound: the client is too far behind its frames."""
        if self._shedding is None:
            self._shedding = asyncio.ensure_future(self._close(CLOSE_SLOW_CONSUMER, b"slow"))

    # ---- heartbeat while waiting -------------------------------------------------
    def _track_waiting(self, frame: dict[str, object]) -> None:
        if self._heartbeat is None:
            return
        kind = frame.get("kind")
        if kind == frame_kinds.INPUT_REQUIRED:
            self._start_timer()
        elif kind == frame_kinds.SNAPSHOT:
            session = frame.get("session")
            if isinstance(session, dict) and session.get("state") == SessionState.INPUT_REQUIRED:
                self._start_timer()
        elif kind == frame_kinds.PHASE or kind in frame_kinds.TERMINAL_KINDS:
            self._stop_timer()

    def _beat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat()

    def _start_timer(self) -> None:
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._heartbeat_interval_s, self._tick)

    def _tick(self) -> None:
        self._timer = None
        self._beat()
        self._start_timer()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _shrink_buffers(transport: asyncio.Transport) -> None:
    """A small kernel send buffer and write buffer: what a stalled client can pin."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
    transport.set_write_buffer_limits(high=WRITE_BUFFER)
