"""The operations of ``/api/v1``, as data: one table the router and the OpenAPI document share.

Each :class:`Operation` names its handler (a method of
:class:`tray_app.api.routes.ApiRoutes`), its request body and response wire
types (from :mod:`tray_app.api.schemas`), its success status and the error
codes it can answer. ``ApiRoutes.add_to`` registers exactly these routes and
:func:`tray_app.api.openapi.build_document` describes exactly these, so a
route cannot exist undocumented.

Adding a route: write the handler on ``ApiRoutes``, give its body and
response msgspec types in ``schemas.py``, and append an ``Operation`` here
(errors as ``(status, code, ...)``; ``links`` for stateful clients). The
document, the router and the contract tests pick it up from this table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tray_app.api import errors
from tray_app.api import schemas as s
from tray_app.creation import errors as creation

PREFIX = "/api/v1"


@dataclass(frozen=True)
class Query:
    """A query parameter: its JSON Schema and how repeated values are written."""

    name: str
    schema: dict[str, Any]
    description: str
    explode: bool = True


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # below PREFIX, with {placeholders}
    handler: str
    operation_id: str
    summary: str
    status: int  # the success status
    response: Any | None  # wire type of the success body; None: no body
    description: str = ""
    body: Any | None = None
    body_required: bool = True
    #: (status, code, code, ...) this operation may answer besides the common refusals.
    errors: tuple[tuple[Any, ...], ...] = ()
    query: tuple[Query, ...] = ()
    public: bool = False  # answers without a token (still Host-checked)
    websocket: bool = False  # upgrades; ``response`` is then the frame type
    links: dict[str, tuple[str, str]] = field(default_factory=dict)  # name: (operationId, param)

    @property
    def full_path(self) -> str:
        return PREFIX + self.path


_SESSION = "$response.body#/session_id"
#: Links from any operation that answers a session handle to what can follow it.
_HANDLE_LINKS = {
    "GetSession": ("getSession", _SESSION),
    "ResumeSession": ("resumeSession", _SESSION),
    "CancelSession": ("cancelSession", _SESSION),
    "HeartbeatSession": ("heartbeatSession", _SESSION),
}
_NOT_FOUND = (404, creation.SESSION_NOT_FOUND)
_UNAVAILABLE = (503, creation.SHUTTING_DOWN, errors.NOT_SUPPORTED)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/health",
        "health",
        "getHealth",
        "Liveness, counts and shed clients",
        200,
        s.Health,
        public=True,
    ),
    Operation(
        "GET",
        "/openapi.json",
        "openapi",
        "getOpenApi",
        "This document (OpenAPI 3.1)",
        200,
        dict[str, Any],
        public=True,
    ),
    Operation(
        "POST",
        "/sessions",
        "create_session",
        "createSession",
        "Open a creation session",
        201,
        s.SessionHandle,
        body=s.CreateRequest,
        description="Validates the request, claims the destination folder and starts the "
        "pipeline; answers once validation has passed. Watch it with the events socket.",
        errors=((400, errors.BAD_REQUEST), (422, creation.VALIDATION_FAILED), _UNAVAILABLE),
        links=_HANDLE_LINKS,
    ),
    Operation(
        "GET",
        "/sessions",
        "list_sessions",
        "listSessions",
        "Sessions, live and recent",
        200,
        s.SessionList,
        errors=((400, errors.BAD_REQUEST),),
        query=(
            Query(
                "state",
                {"type": "array", "items": {"$ref": "#/components/schemas/SessionState"}},
                "Only sessions in these states (comma-separated or repeated).",
                explode=False,
            ),
        ),
    ),
    Operation(
        "GET",
        "/sessions/{session_id}",
        "get_session",
        "getSession",
        "One session's handle",
        200,
        s.SessionHandle,
        errors=(_NOT_FOUND,),
        links=_HANDLE_LINKS,
    ),
    Operation(
        "POST",
        "/sessions/{session_id}/resume",
        "resume_session",
        "resumeSession",
        "Answer the pending prompt",
        200,
        s.SessionHandle,
        body=s.ResumeBody,
        description="Bad answers are refused with `invalid_answers` (per-field messages in "
        "`details.fields`) and the session keeps waiting.",
        errors=(
            (400, errors.BAD_REQUEST),
            _NOT_FOUND,
            (409, creation.SESSION_ALREADY_COMPLETED, creation.NOT_AWAITING_INPUT),
            (422, creation.INVALID_ANSWERS),
            _UNAVAILABLE,
        ),
        links={"CancelSession": ("cancelSession", _SESSION)},
    ),
    Operation(
        "POST",
        "/sessions/{session_id}/cancel",
        "cancel_session",
        "cancelSession",
        "Abort a session",
        200,
        s.SessionHandle,
        body=s.CancelBody,
        body_required=False,
        description="Kills the plugin worker; `discard_files` removes the partial folder. "
        "An empty body means `{}`.",
        errors=(
            (400, errors.BAD_REQUEST),
            _NOT_FOUND,
            (409, creation.SESSION_ALREADY_COMPLETED),
            _UNAVAILABLE,
        ),
    ),
    Operation(
        "POST",
        "/sessions/{session_id}/heartbeat",
        "heartbeat",
        "heartbeatSession",
        "Keep a waiting session from being abandoned",
        204,
        None,
        errors=(_NOT_FOUND,),
    ),
    Operation(
        "GET",
        "/sessions/{session_id}/events",
        "session_events",
        "sessionEvents",
        "WebSocket: one session's frames",
        101,
        s.Frame,
        websocket=True,
        description="A snapshot first, then every frame until the terminal one; the server "
        "then closes with 1000. Any client message is a heartbeat for the session.",
        errors=((400, errors.BAD_REQUEST), _NOT_FOUND),
    ),
    Operation(
        "GET",
        "/events",
        "all_events",
        "allEvents",
        "WebSocket: every session's frames",
        101,
        s.Frame,
        websocket=True,
        description="A snapshot of every session first, then `opened` and every session's "
        "frames, each with `session_id`.",
        errors=((400, errors.BAD_REQUEST),),
    ),
    Operation(
        "POST",
        "/app/activate",
        "activate",
        "activateApp",
        "Show the tray's sessions window",
        204,
        None,
        errors=((409, errors.NOT_SUPPORTED),),
    ),
)


#: Refusals any operation may answer, before its handler runs: (status, description, codes).
COMMON_ERRORS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (401, "No valid bearer token.", (errors.UNAUTHORIZED,)),
    (
        403,
        "The Host (or a WebSocket's Origin) is not 127.0.0.1/localhost at this port.",
        (errors.FORBIDDEN_HOST, errors.FORBIDDEN_ORIGIN),
    ),
    (
        408,
        "Headers or body did not arrive in time; the connection is closed.",
        (errors.REQUEST_TIMEOUT,),
    ),
    (413, "The body is over 64 KiB.", (errors.PAYLOAD_TOO_LARGE,)),
    (431, "A header line or the request line is too long.", (errors.HEADERS_TOO_LARGE,)),
    (500, "A server bug; the log has the details.", (errors.INTERNAL_ERROR,)),
    (
        503,
        "Too many connections without a valid token; this one was dropped.",
        (errors.TOO_MANY_CONNECTIONS,),
    ),
)

#: WebSocket close codes of the event streams.
CLOSE_CODES: dict[int, str] = {
    1000: "The session finished (or was evicted from the recent list).",
    1001: "The server is shutting down.",
    4008: "The client read too slowly (too many unread frames, or stalled): reconnect.",
}


def public_paths() -> frozenset[str]:
    return frozenset(op.full_path for op in OPERATIONS if op.public)
