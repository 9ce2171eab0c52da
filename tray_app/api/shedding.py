"""Shedding slow and anonymous clients at the HTTP layer, below aiohttp's application.

aiohttp has no read timeout for request headers and no hook for the
responses its HTTP parser sends itself (aio-libs/aiohttp#3287), so this
module gives ``web.AppRunner`` its own protocol class, a subclass of
aiohttp's ``RequestHandler`` that keeps aiohttp's parser and its limits
(``max_line_size``, ``max_field_size``, ``max_headers``, ``keepalive_timeout``,
``lingering_time``) and adds:

- a header deadline: a request whose headers are not complete within
  ``header_timeout_s`` of its first byte (or of the connection, for the
  first request) is answered 408 in the JSON error envelope and closed;
- a bound on connections that have not yet shown a valid token: past
  ``max_unauthenticated`` the oldest idle one is answered 503 and closed, so
  a newcomer (a real client sends its headers at once) always gets a slot;
- the JSON envelope for every refusal of the parser itself (431 for an
  oversize request line or header, 400 for garbage).

Refusals are queued as aiohttp's own parser errors are, so aiohttp writes
the response and closes the connection; that relies on a few attributes of
``RequestHandler`` (``_messages``, ``_waiter``, ``_request_count``,
``_request_in_progress``, ``_ErrInfo``), pinned by tests/api/test_shedding.py.
The body deadline lives in :func:`tray_app.api.middleware.body_deadline`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web, web_protocol
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.streams import EMPTY_PAYLOAD

from tray_app.api import errors
from tray_app.api.errors import ApiError
from tray_app.api.schemas import ErrorEnvelope, HealthConnections, HealthShed
from tray_app.api.wire import encode
from tray_app.loop_timer import LoopTimer

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShedPolicy:
    """Bounds on what one client may cost. Defaults fit a loopback API of small JSON bodies."""

    header_timeout_s: float = 5.0
    #: 64 KiB (the body cap) arrives in milliseconds on loopback; 10 s is generous.
    body_timeout_s: float = 10.0
    max_unauthenticated: int = 128
    #: Idle keep-alive connections are closed quietly after this (aiohttp's own knob).
    keepalive_timeout_s: float = 30.0
    #: After a refusal, unread request bytes are drained at most this long (aiohttp's knob).
    lingering_time_s: float = 2.0
    #: A refused connection that will not take its answer is aborted after this.
    abort_after_s: float = 5.0
    max_line_size: int = 8190
    max_field_size: int = 8190
    max_headers: int = 64


@dataclass
class ShedCounters:
    """How many clients were cut off, by cause (shown by ``/health``)."""

    slow_headers: int = 0
    slow_bodies: int = 0
    oversize_requests: int = 0
    unauthenticated_evicted: int = 0
    slow_event_sockets: int = 0

    def snapshot(self) -> HealthShed:
        return HealthShed(**dataclasses.asdict(self))


@dataclass
class ConnectionGate:
    """Open connections, and the ones not yet proven by a valid token (oldest first)."""

    policy: ShedPolicy = field(default_factory=ShedPolicy)
    counters: ShedCounters = field(default_factory=ShedCounters)
    open: set[SheddingHandler] = field(default_factory=set)
    unproven: dict[SheddingHandler, None] = field(default_factory=dict)

    def opened(self, handler: SheddingHandler) -> None:
        self.open.add(handler)
        self.unproven[handler] = None
        if len(self.unproven) > self.policy.max_unauthenticated:
            victim = next((h for h in self.unproven if h is not handler and h.idle), handler)
            self.unproven.pop(victim, None)
            self.counters.unauthenticated_evicted += 1
            victim.refuse(
                503,
                errors.TOO_MANY_CONNECTIONS,
                "Too many connections without a valid token; this one was closed.",
            )

    def prove(self, protocol: object) -> None:
        """The connection carried a valid token: it no longer counts against the bound."""
        self.unproven.pop(protocol, None)  # type: ignore[call-overload]

    def closed(self, handler: SheddingHandler) -> None:
        self.open.discard(handler)
        self.unproven.pop(handler, None)

    def snapshot(self) -> HealthConnections:
        return HealthConnections(open=len(self.open), unauthenticated=len(self.unproven))


class SheddingHandler(web_protocol.RequestHandler):
    """aiohttp's request handler with a header deadline and JSON refusals."""

    def __init__(self, manager: web.Server, *, gate: ConnectionGate, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._gate = gate
        #: The header deadline: armed while the connection waits for a request's headers.
        self._deadline = LoopTimer(self._headers_late, self._loop)
        self._requests_seen = 0
        self._last_payload: Any = EMPTY_PAYLOAD
        self._refused = False

    @property
    def idle(self) -> bool:
        """Not handling a request (waiting for one, or for the rest of its headers)."""
        return not self._request_in_progress and not self._messages

    # ---- asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._deadline.start(self._gate.policy.header_timeout_s)
        self._gate.opened(self)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._deadline.cancel()
        self._gate.closed(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the refusal is on its way; nothing more is parsed
        if data and not self._deadline.active and self.idle and self._last_payload.is_eof():
            # The first bytes of the next request on a kept-alive connection.
            self._deadline.start(self._gate.policy.header_timeout_s)
        super().data_received(data)
        if self._request_count != self._requests_seen:
            self._requests_seen = self._request_count
            if self._messages:
                self._last_payload = self._messages[-1][1]
            self._deadline.cancel()

    # ---- refusals -----------------------------------------------------------------------------
    def refuse(self, status: int, code: str, message: str) -> None:
        """Answer ``status`` in the error envelope as the next response, then close."""
        if self._refused or self.transport is None:
            return
        self._refused = True
        self._deadline.cancel()
        error = ApiError(status, code, message)
        self._messages.append(
            (web_protocol._ErrInfo(status=status, exc=error, message=message), EMPTY_PAYLOAD)
        )
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        # A client that does not read its answer must not hold the socket.
        self._loop.call_later(self._gate.policy.abort_after_s, self._abort)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """Every response aiohttp makes itself (parser errors, refusals): the JSON envelope."""
        if request.writer.output_size > 0:
            return super().handle_error(request, status, exc, message)  # raises ConnectionError
        error = self._as_api_error(status, exc)
        response = web.Response(
            body=encode(ErrorEnvelope.of(error)),
            status=error.status,
            content_type="application/json",
        )
        response.force_close()
        return response

    def _as_api_error(self, status: int, exc: BaseException | None) -> ApiError:
        if isinstance(exc, ApiError):
            return exc
        if isinstance(exc, LineTooLong):
            self._gate.counters.oversize_requests += 1
            limit = max(self.max_line_size, self.max_field_size)
            return ApiError(
                431,
                errors.HEADERS_TOO_LARGE,
                f"The request line or a header is longer than {limit} bytes.",
            )
        if isinstance(exc, HttpProcessingError):
            _log.debug("unparsable request: %s", exc.message)
            return ApiError(400, errors.BAD_REQUEST, f"Not a valid HTTP request: {exc.message}")
        if status >= 500:
            _log.error("error handling a request", exc_info=exc)
            return ApiError(500, errors.INTERNAL_ERROR, "Internal error; see the ExLab Tray log.")
        return ApiError(status, errors.BAD_REQUEST, f"HTTP {status}")

    # ---- the header deadline ----------------------------------------------------------------
    def _headers_late(self) -> None:
        if not self.idle:
            return
        self._gate.counters.slow_headers += 1
        self.refuse(
            408,
            errors.REQUEST_TIMEOUT,
            f"The request headers did not arrive within {self._gate.policy.header_timeout_s:g} s.",
        )

    def _abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class _SheddingServer(web.Server):
    """aiohttp's low-level server, making :class:`SheddingHandler` protocols."""

    def __init__(
        self,
        handler: Any,
        *,
        request_factory: Any,
        handler_cancellation: bool,
        gate: ConnectionGate,
        **handler_kwargs: Any,
    ) -> None:
        super().__init__(
            handler,
            request_factory=request_factory,
            handler_cancellation=handler_cancellation,
            loop=asyncio.get_running_loop(),
        )
        self._gate = gate
        self._handler_kwargs = handler_kwargs

    def __call__(self) -> SheddingHandler:
        return SheddingHandler(self, loop=self._loop, gate=self._gate, **self._handler_kwargs)


class SheddingRunner(web.AppRunner):
    """``web.AppRunner`` whose server speaks through :class:`SheddingHandler`."""

    def __init__(self, app: web.Application, gate: ConnectionGate, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.gate = gate

    async def _make_server(self) -> web.Server:
        made = await super()._make_server()  # runs the app's startup, freezes it
        policy = self.gate.policy
        return _SheddingServer(
            made.request_handler,
            request_factory=made.request_factory,
            handler_cancellation=made.handler_cancellation,
            gate=self.gate,
            access_log=None,
            keepalive_timeout=policy.keepalive_timeout_s,
            lingering_time=policy.lingering_time_s,
            max_line_size=policy.max_line_size,
            max_field_size=policy.max_field_size,
            max_headers=policy.max_headers,
        )
