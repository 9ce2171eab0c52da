"""WebSocket event streams: a subscription's frames pushed to one socket.

One stream per socket: the handler task reads client messages (each one is
a heartbeat) while a writer task sends frames. A per-session socket also
heartbeats its session with one timer, armed only while the session waits
for input, so idle sockets cost nothing. Slow clients are cut off with
close code 4008 and never stall the store or other sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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


class EventStream:
    """Pushes one subscription to one WebSocket until either side ends."""

    def __init__(
        self,
        subscription: Subscription,
        encoder: FrameEncoder,
        *,
        heartbeat: Callable[[], None] | None = None,
        heartbeat_interval_s: float = 60.0,
        send_timeout_s: float = 10.0,
    ) -> None:
        self.subscription = subscription
        self._encoder = encoder
        self._heartbeat = heartbeat
        self._heartbeat_interval_s = heartbeat_interval_s
        self._send_timeout_s = send_timeout_s
        self._timer: asyncio.TimerHandle | None = None
        self.ws = web.WebSocketResponse(
            timeout=2.0, max_msg_size=MAX_CLIENT_MESSAGE, compress=False, autoping=True
        )
        self.close_code: int | None = None

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = self.ws
        try:
            await ws.prepare(request)
        except BaseException:
            self.subscription.close()
            raise
        self._beat()
        writer = asyncio.create_task(self._write(request))
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
            done, _ = await asyncio.wait({writer}, timeout=self._send_timeout_s)
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
    async def _write(self, request: web.Request) -> None:
        ws = self.ws
        subscription = self.subscription
        try:
            while True:
                frame = await subscription.get()
                if frame is None:
                    break
                # One deadline per burst of queued frames, not one per frame.
                async with asyncio.timeout(self._send_timeout_s):
                    for queued in (frame, *subscription.take_all()):
                        await ws.send_frame(self._encoder.encode(queued), WSMsgType.TEXT)
                        self._track_waiting(queued)
            code_message = _CLOSE_FOR_REASON.get(subscription.close_reason)
            if code_message is None:  # unsubscribed: the client already left
                return
            if subscription.close_reason == reasons.OVERFLOW:
                _log.warning("closing slow WebSocket client of %s", request.path)
            self.close_code = code_message[0]
            await ws.close(code=code_message[0], message=code_message[1])
        except TimeoutError:
            # The client stopped reading and the socket buffer is full: a close
            # frame could not get through either, so drop the connection.
            _log.warning("dropping stalled WebSocket client of %s", request.path)
            self.close_code = CLOSE_SLOW_CONSUMER
            subscription.close()
            if request.transport is not None:
                request.transport.abort()
        except (ConnectionError, RuntimeError):
            subscription.close()  # the socket went away under us

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
