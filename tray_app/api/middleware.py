"""Cross-cutting request rules: the error envelope, the Host/Origin guard, the token check,
and the body deadline.

Handlers stay small: they raise :class:`ApiError` (or let anything else
escape) and these middlewares turn every outcome into the JSON envelope.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web
from aiohttp.typedefs import Middleware

from tray_app.api import errors
from tray_app.api.contract import public_paths
from tray_app.api.errors import ApiError
from tray_app.api.schemas import ErrorEnvelope
from tray_app.api.wire import encode, encode_as
from tray_app.creation.errors import CreationError

_log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Answer without a token (still Host-checked): liveness and the API document.
PUBLIC_PATHS = public_paths()

#: Refusals after which the connection is closed rather than kept alive.
_CLOSING_STATUSES = frozenset({408, 413})

_HTTP_CODES = {
    400: errors.BAD_REQUEST,
    404: errors.NOT_FOUND,
    405: errors.METHOD_NOT_ALLOWED,
    413: errors.PAYLOAD_TOO_LARGE,
    415: errors.UNSUPPORTED_MEDIA_TYPE,
}


def json_response(body: msgspec.Struct, status: int = 200) -> web.Response:
    """A response whose body is already a wire type."""
    return web.Response(body=encode(body), status=status, content_type="application/json")


def typed_response(body: Any, wire_type: Any, status: int = 200) -> web.Response:
    """A response from store/controller data, encoded through its wire type."""
    return web.Response(
        body=encode_as(body, wire_type), status=status, content_type="application/json"
    )


def error_response(error: ApiError) -> web.Response:
    response = json_response(ErrorEnvelope.of(error), status=error.status)
    if error.status in _CLOSING_STATUSES:
        response.force_close()
    elif error.code == errors.UPGRADE_REQUIRED:
        response.headers["Upgrade"] = "websocket"
    return response


@web.middleware
async def error_envelope(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure leaves as ``{"error": {...}}``; no traceback ever leaves the process."""
    try:
        return await handler(request)
    except CreationError as error:
        return error_response(ApiError.from_creation_error(error))
    except web.HTTPException as http_error:
        if http_error.status < 400:
            raise
        code = _HTTP_CODES.get(http_error.status, errors.BAD_REQUEST)
        if http_error.status >= 500:
            code = errors.INTERNAL_ERROR
        message = http_error.text or http_error.reason
        if code == errors.NOT_FOUND:
            message = f"No route for {request.method} {request.path}."
        elif code == errors.METHOD_NOT_ALLOWED:
            message = f"{request.method} is not allowed on {request.path}."
        elif code == errors.PAYLOAD_TOO_LARGE:
            message = "The request body is too large."
        response = error_response(ApiError(http_error.status, code, message))
        if http_error.status == 405:
            allow = http_error.headers.get("Allow")
            if allow:
                response.headers["Allow"] = allow
        return response
    except Exception:
        _log.exception("unexpected error in %s %s", request.method, request.path)
        return error_response(
            ApiError(500, errors.INTERNAL_ERROR, "Internal error; see the ExLab Tray log.")
        )


@dataclass
class Guard:
    """Who may talk to the API: the token and the host names that carry our port."""

    token: str
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    allowed_origins: frozenset[str] = field(default_factory=frozenset)
    #: Told of every request that showed the token (the connection gate counts them).
    on_authorised: Callable[[web.Request], None] | None = None

    def bind_port(self, port: int) -> None:
        self.allowed_hosts = frozenset({f"127.0.0.1:{port}", f"localhost:{port}"})
        self.allowed_origins = frozenset(f"http://{host}" for host in self.allowed_hosts)

    def token_matches(self, authorization: str | None) -> bool:
        if not authorization:
            return False
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return False
        # Bytes: compare_digest refuses non-ASCII str; lengths may differ freely.
        return hmac.compare_digest(
            given.strip().encode("utf-8", "surrogateescape"), self.token.encode("ascii")
        )

    def check(self, request: web.Request) -> None:
        """Raise ApiError unless the request may proceed (host, origin, then token)."""
        host = request.headers.get("Host", "").lower()
        if host not in self.allowed_hosts:
            raise ApiError(
                403, errors.FORBIDDEN_HOST, "Requests must address 127.0.0.1 or localhost."
            )
        origin = request.headers.get("Origin")
        if origin is not None and origin.lower() not in self.allowed_origins:
            raise ApiError(
                403, errors.FORBIDDEN_ORIGIN, f"Cross-origin requests are refused ({origin})."
            )
        if not self.token_matches(request.headers.get("Authorization")):
            if request.path in PUBLIC_PATHS:
                return
            raise ApiError(
                401,
                errors.UNAUTHORIZED,
                "Missing or wrong token: send 'Authorization: Bearer <token>' "
                "with the token from runtime.json.",
            )
        if self.on_authorised is not None:
            self.on_authorised(request)


def guard_middleware(guard: Guard) -> Middleware:
    @web.middleware
    async def guard_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
        guard.check(request)
        return await handler(request)

    return guard_requests


def body_deadline(
    max_bytes: int, timeout_s: float, on_slow: Callable[[], None], on_large: Callable[[], None]
) -> Middleware:
    """Read the whole body before the handler, within ``timeout_s``: 408 otherwise.

    Runs after the guard, so only clients with the token make the server wait
    for a body at all. A declared length over ``max_bytes`` is refused at once.
    """

    @web.middleware
    async def read_body_in_time(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.body_exists:
            length = request.content_length
            if length is not None and length > max_bytes:
                on_large()
                raise ApiError(
                    413, errors.PAYLOAD_TOO_LARGE, f"The body is over {max_bytes} bytes."
                )
            try:
                async with asyncio.timeout(timeout_s):
                    await request.read()  # kept by aiohttp: the handler's read() returns it
            except TimeoutError:
                on_slow()
                raise ApiError(
                    408,
                    errors.REQUEST_TIMEOUT,
                    f"The request body did not arrive within {timeout_s:g} s.",
                ) from None
            except web.HTTPRequestEntityTooLarge:
                on_large()
                raise
        return await handler(request)

    return read_body_in_time
