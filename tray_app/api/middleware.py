"""Cross-cutting request rules: the error envelope, the Host/Origin guard, the token check.

Handlers stay small: they raise :class:`ApiError` (or let anything else
escape) and these middlewares turn every outcome into the JSON envelope.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Middleware

from tray_app.api import errors
from tray_app.api.errors import ApiError
from tray_app.api.wire import encode
from tray_app.creation.errors import CreationError

_log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Answers without a token (still Host-checked): lets clients probe liveness.
PUBLIC_PATHS = frozenset({"/api/v1/health"})

_HTTP_CODES = {
    400: errors.BAD_REQUEST,
    404: errors.NOT_FOUND,
    405: errors.METHOD_NOT_ALLOWED,
    413: errors.PAYLOAD_TOO_LARGE,
    415: errors.UNSUPPORTED_MEDIA_TYPE,
}


def json_response(body: object, status: int = 200) -> web.Response:
    return web.Response(body=encode(body), status=status, content_type="application/json")


def error_response(error: ApiError) -> web.Response:
    return json_response(error.envelope(), status=error.status)


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
        if request.path in PUBLIC_PATHS:
            return
        if not self.token_matches(request.headers.get("Authorization")):
            raise ApiError(
                401,
                errors.UNAUTHORIZED,
                "Missing or wrong token: send 'Authorization: Bearer <token>' "
                "with the token from runtime.json.",
            )


def guard_middleware(guard: Guard) -> Middleware:
    @web.middleware
    async def guard_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
        guard.check(request)
        return await handler(request)

    return guard_requests
