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
from tray_app.api import sync_schemas as sync
from tray_app.creation import errors as creation
from tray_app.creation.sync import SyncJob

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
    #: Named request bodies that work against the default settings (docs and fuzzers use them).
    examples: dict[str, Any] = field(default_factory=dict)

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
_WEBSOCKET = ((400, errors.BAD_REQUEST), (426, errors.UPGRADE_REQUIRED))
_DEMO = {"equipment_id": "DEMO", "project_name": "Demo", "operator": "ana"}
_UNAVAILABLE = (503, creation.SHUTTING_DOWN, errors.PIPELINE_UNAVAILABLE)
_NO_PIPELINE = (503, errors.PIPELINE_UNAVAILABLE)

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
        examples={
            "project": {"kind": "project", **_DEMO},
            "run": {"kind": "run", **_DEMO, "label": "first plate", "run_kind": "test"},
        },
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
        examples={
            "plate_map": {
                "answers": {"sample_count": 8, "plate_type": "96-well", "prep_date": "2026-01-05"}
            }
        },
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
        "/sessions/{session_id}/discard",
        "discard_folder",
        "discardFolder",
        "Remove the unfinished folder an ended session left",
        200,
        s.SessionHandle,
        body_required=False,
        description="For a session interrupted by a stop or crash (or a failed one): removes "
        "its folder. A folder with a valid creation.json is complete and is never removed.",
        errors=(
            _NOT_FOUND,
            (
                409,
                creation.SESSION_STILL_RUNNING,
                creation.NOTHING_TO_DISCARD,
                creation.FOLDER_COMPLETE,
            ),
            (
                422,
                creation.PERMISSION_DENIED,
                creation.READ_ONLY_DISK,
                creation.DISK_ERROR,
                creation.FILE_ERROR,
            ),
            _UNAVAILABLE,
        ),
    ),
    Operation(
        "POST",
        "/sessions/{session_id}/start-again",
        "start_again",
        "startAgain",
        "Start a new session with an ended session's request",
        201,
        s.SessionHandle,
        body_required=False,
        description="A fresh run folder; a project of the same name needs its old folder "
        "discarded first (else `validation_failed`, destination exists).",
        errors=(
            _NOT_FOUND,
            (409, creation.SESSION_STILL_RUNNING),
            (422, creation.VALIDATION_FAILED),
            (503, creation.JOURNAL_UNAVAILABLE),
            _UNAVAILABLE,
        ),
        links=_HANDLE_LINKS,
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
        errors=(*_WEBSOCKET, _NOT_FOUND),
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
        errors=_WEBSOCKET,
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
    Operation(
        "GET",
        "/sync",
        "list_sync",
        "listSync",
        "The NAS sync queue: summary and jobs",
        200,
        sync.SyncList,
        description="Each job's `status` is queued, copying, synced, waiting (a passing "
        "failure: retried at `next_attempt_at`) or failed (a permanent one); `reason` says why.",
        errors=(_NO_PIPELINE,),
    ),
    Operation(
        "POST",
        "/sync/{job_id}/retry",
        "retry_sync",
        "retrySync",
        "Retry a sync job now",
        200,
        SyncJob,
        description="Any job; a synced one is copied and checked again.",
        errors=((404, creation.SYNC_JOB_NOT_FOUND), _NO_PIPELINE),
    ),
    Operation(
        "POST",
        "/sync/requeue",
        "requeue_sync",
        "requeueSync",
        "Queue a job, session or folder again",
        200,
        SyncJob,
        body=sync.RequeueBody,
        description="`id` is a sync job id, a session id or a folder path. A folder whose "
        "sync post-validation blocked is validated again first (`validation_failed` with "
        "`details.findings` while it is still unsafe).",
        errors=(
            (400, errors.BAD_REQUEST),
            (404, creation.SYNC_JOB_NOT_FOUND),
            (409, creation.SYNC_NOT_CONFIGURED),
            (422, creation.VALIDATION_FAILED),
            _NO_PIPELINE,
        ),
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

#: Every error code the API answers, with its HTTP status and what it means (docs/api.md).
ERROR_CODES: dict[str, tuple[int, str]] = {
    errors.BAD_REQUEST: (400, "The body, a parameter or the HTTP itself is malformed."),
    errors.UNAUTHORIZED: (401, "No valid bearer token."),
    errors.FORBIDDEN_HOST: (403, "The Host header is not 127.0.0.1 or localhost at this port."),
    errors.FORBIDDEN_ORIGIN: (403, "A browser Origin other than this server's."),
    errors.NOT_FOUND: (404, "No such route."),
    creation.SESSION_NOT_FOUND: (404, "No session with that id (or it was evicted)."),
    errors.METHOD_NOT_ALLOWED: (405, "The route exists with other methods (see Allow)."),
    errors.REQUEST_TIMEOUT: (408, "Headers or body too slow; the connection is closed."),
    creation.SESSION_ALREADY_COMPLETED: (409, "The session has ended."),
    creation.NOT_AWAITING_INPUT: (409, "The session is not waiting for answers."),
    errors.NOT_SUPPORTED: (409, "A headless instance has no window to show."),
    creation.SYNC_JOB_NOT_FOUND: (404, "No sync job (or session, or folder) with that id."),
    creation.SYNC_NOT_CONFIGURED: (409, "No NAS is set in the settings."),
    errors.PAYLOAD_TOO_LARGE: (413, "The body is over 64 KiB."),
    errors.UNSUPPORTED_MEDIA_TYPE: (415, "A body in a form the API does not read."),
    creation.VALIDATION_FAILED: (422, "The request is well-formed but refused (details.errors)."),
    creation.INVALID_ANSWERS: (422, "Some answers are wrong (details.fields); still waiting."),
    errors.UPGRADE_REQUIRED: (426, "An event stream needs a WebSocket handshake."),
    errors.HEADERS_TOO_LARGE: (431, "The request line or a header is over 8190 bytes."),
    errors.INTERNAL_ERROR: (500, "A server bug; the log has the details."),
    creation.SHUTTING_DOWN: (503, "The instance is shutting down; no new work."),
    errors.PIPELINE_UNAVAILABLE: (503, "This server has no creation pipeline (embedded use)."),
    errors.TOO_MANY_CONNECTIONS: (503, "Too many connections without a token; this one closed."),
    creation.JOURNAL_UNAVAILABLE: (503, "The session journal cannot be written; nothing started."),
    creation.SESSION_STILL_RUNNING: (409, "The session has not ended yet."),
    creation.NOTHING_TO_DISCARD: (409, "The session left no folder (or it is gone already)."),
    creation.FOLDER_COMPLETE: (409, "The folder has a valid creation.json; it is kept."),
    creation.DISK_FULL: (422, "The disk is full."),
    creation.PERMISSION_DENIED: (422, "The file system refused permission."),
    creation.READ_ONLY_DISK: (422, "The disk is read-only."),
    creation.NAME_TOO_LONG: (422, "A file name is too long for the disk."),
    creation.FOLDER_MISSING: (422, "A folder disappeared while it was used."),
    creation.DISK_ERROR: (422, "The disk reported an input/output error."),
    creation.FILE_ERROR: (422, "A file could not be written or removed."),
}

#: WebSocket close codes of the event streams.
CLOSE_CODES: dict[int, str] = {
    1000: "The session finished (or was evicted from the recent list).",
    1001: "The server is shutting down.",
    4008: "The client read too slowly (too many unread frames, or stalled): reconnect.",
}


def public_paths() -> frozenset[str]:
    return frozenset(op.full_path for op in OPERATIONS if op.public)
