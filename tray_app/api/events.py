"""WebSocket event streams: a subscription's frames pushed to one socket.

One stream per socket: the handler task reads client messages (each one is
a heartbeat) while a writer task sends frames. A per-session socket also
heartbeats its session with one timer, armed only while the session waits
for input, so idle sockets cost nothing.

Slow clients never stall the store or other sockets, and cost little while
they last: a socket's kernel send buffer and aiohttp's buffer in front of it
are small (``SEND_BUFFER``, ``WRITE_BUFFER``), so a client that stops reading
blocks its writer within a few dozen KiB. It is then closed with 4008 when
its unread frames pass the store's per-subscriber bound (in frames) or when
a send has waited ``stall_timeout_s`` (in seconds); a client that does not
take even the close frame within ``close_linger_s`` is aborted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable

from aiohttp import WSMsgType, web

from tray_app.api.wire import FrameEncoder
from tray_app.sessions import SessionState, Subscription
from tray_app.sessions import frames as frame_kinds
from tray_app.sessions import subscription as reasons

_log = logging.getLogger(__name__)

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
        on_slow: Callable[[], None] | None = None,
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
            autoping=True,
            writer_limit=WRITE_BUFFER,
        )
        self.close_code: int | None = None
        #: The connection, once upgraded.
        self.transport: asyncio.Transport | None = None

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
        self._beat()
        writer = asyncio.create_task(self._write(request.path, transport))
        try:
            async for message in ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    self._beat()
                elif message.type is WSMsgType.ERROR:
                    break
        finally:
            self._stop_timer()
            # The client left (or we are closing): stop the writer waiting for frames.
            self.subscription.close()
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
    async def _write(self, path: str, transport: asyncio.Transport | None) -> None:
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
                        await ws.send_frame(self._encoder.encode(queued), WSMsgType.TEXT)
                        self._track_waiting(queued)
        except TimeoutError:
            await self._close(path, transport, CLOSE_SLOW_CONSUMER, b"slow consumer")
            return
        except (ConnectionError, RuntimeError):
            subscription.close()  # the socket went away under us
            return
        code_message = _CLOSE_FOR_REASON.get(subscription.close_reason)
        if code_message is not None:  # else unsubscribed: the client already left
            await self._close(path, transport, *code_message)

    async def _close(
        self, path: str, transport: asyncio.Transport | None, code: int, message: bytes
    ) -> None:
        """Close with ``code``; a client that will not take the close frame is aborted."""
        self.close_code = code
        self.subscription.close()
        if code == CLOSE_SLOW_CONSUMER:
            _log.warning("closing slow WebSocket client of %s (4008)", path)
            if self._on_slow is not None:
                self._on_slow()
        closed = False
        with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
            async with asyncio.timeout(self._close_linger_s):
                await self.ws.close(code=code, message=message)
                closed = True
        if not closed and transport is not None:
            transport.abort()

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
