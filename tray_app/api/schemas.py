"""Wire types of the local API: request bodies, responses and event frames (DESIGN §3, §5).

These msgspec types are the contract. Requests are decoded into them, every
JSON response and frame is encoded through them (:mod:`tray_app.api.wire`),
and the OpenAPI document (:mod:`tray_app.api.openapi`) is generated from
them, so the document cannot drift from what the server does.

``POST /sessions`` reuses :data:`tray_app.creation.requests.CreateRequest`.
Decoding failures become ``bad_request`` errors that name the offending
field as a JSON path (``$.label``).

Outcome objects (a session's ``error``/``result``, a frame's ``reason``) and
error ``details`` stay open objects: the pipeline adds keys to them over time,
and a closed type would silently drop those keys from the wire.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from tray_app.api.errors import BAD_REQUEST, ApiError
from tray_app.api.sync_schemas import HealthSync
from tray_app.creation.fields import Field
from tray_app.creation.prompt import Prompt
from tray_app.creation.requests import CreateRequest, ProjectRequest, RunRequest
from tray_app.sessions.states import NextAction, Phase, SessionKind, SessionState

__all__ = [
    "CancelBody",
    "CreateRequest",
    "ErrorBody",
    "ErrorEnvelope",
    "Frame",
    "Health",
    "ProjectRequest",
    "ResumeBody",
    "RunRequest",
    "SessionHandle",
    "SessionList",
    "decode_body",
]

# ---- request bodies ---------------------------------------------------------------------------


class ResumeBody(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /sessions/{id}/resume``: answers keyed by prompt field id."""

    answers: dict[str, Any]


class CancelBody(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /sessions/{id}/cancel``: whether to remove the partial folder."""

    discard_files: bool = False


# ---- errors -------------------------------------------------------------------------------------

Outcome = Annotated[
    dict[str, Any],
    msgspec.Meta(
        description="An open object: `code` and `message` always, then `path` (the folder, "
        "or null), and for a finished session `sync_status` and `warnings` (and `sync`, "
        "where its NAS copy stands, as in creation.json, following the sync job); for an "
        "aborted one `discard_files`; for a failed one `field` and `details` when known.",
        examples=[{"path": "/data/DEMO/Demo", "sync_status": "queued", "warnings": []}],
    ),
]


class ErrorBody(msgspec.Struct, omit_defaults=True):
    """A refusal: a stable ``code`` for programs and a ``message`` for people."""

    code: Annotated[str, msgspec.Meta(description="Stable code; see the error codes table.")]
    message: str
    field: Annotated[
        str | None, msgspec.Meta(description="The request or prompt field at fault.")
    ] = None
    details: Annotated[
        dict[str, Any] | None,
        msgspec.Meta(description="Structured extras, e.g. `{fields: {id: message}}`."),
    ] = None


class ErrorEnvelope(msgspec.Struct):
    """Every refusal, from a route or from the HTTP layer itself, has this body."""

    error: ErrorBody

    @classmethod
    def of(cls, error: ApiError) -> ErrorEnvelope:
        return cls(ErrorBody(error.code, error.message, error.field, error.details))


# ---- session handles ---------------------------------------------------------------------------
# ``pending_input`` is the creation layer's own Prompt type (creation/prompt.py).


class SessionHandle(msgspec.Struct, kw_only=True):
    """One creation session as the API shows it (DESIGN §3)."""

    session_id: str
    kind: SessionKind
    title: str
    state: SessionState
    current_phase: Phase | None
    next_action: NextAction
    created_at: datetime
    last_heartbeat: datetime
    finished_at: datetime | None
    destination: Annotated[str | None, msgspec.Meta(description="Folder fixed at open.")]
    pending_input: Prompt | None
    progress: ProgressFrame | None
    warnings: list[str]
    error: Outcome | None
    result: Outcome | None


class SessionList(msgspec.Struct):
    """``GET /sessions``: newest last."""

    sessions: list[SessionHandle]


# ---- health -------------------------------------------------------------------------------------


class HealthSessions(msgspec.Struct):
    total: int
    live: int
    waiting: int
    finished: int


class HealthComponents(msgspec.Struct):
    store: Literal["ok"]
    controller: Literal["ok", "shutting_down", "unavailable"]
    api: Literal["ok"]
    event_sockets: int


class HealthConnections(msgspec.Struct):
    """Open HTTP connections, and those that have not yet shown a valid token."""

    open: int
    unauthenticated: int


class HealthShed(msgspec.Struct):
    """Clients the server has cut off since it started, by cause."""

    slow_headers: int
    slow_bodies: int
    oversize_requests: int
    unauthenticated_evicted: int
    slow_event_sockets: int


class HealthJournalProblem(msgspec.Struct):
    """Something wrong with the session journal, in words."""

    code: str
    message: str
    #: Where an unusable journal file was moved, when it was.
    moved_to: str | None = None


class HealthJournal(msgspec.Struct):
    """The session journal: ``ok``, ``off`` (none in this process), or its first problem's
    code; and the folder scan of the start (``running`` until it has listed what it found).
    """

    status: str
    problems: list[HealthJournalProblem] = msgspec.field(default_factory=list)
    folder_scan: Literal["running", "done", "off"] = "off"
    found_on_disk: int = 0


class Health(msgspec.Struct):
    """``GET /health``: liveness and counts; answers without a token."""

    status: Literal["ok"]
    version: str
    pid: int
    uptime_s: float
    sessions: HealthSessions
    components: HealthComponents
    connections: HealthConnections
    shed: HealthShed
    #: The NAS sync queue; null when no NAS is set.
    sync: HealthSync | None = None
    journal: HealthJournal = msgspec.field(default_factory=lambda: HealthJournal(status="off"))


# ---- event frames (one JSON object per WebSocket text message) -------------------------------

#: On ``/events`` (every session) each frame also names its session; absent on a session's own.
FrameSessionId = Annotated[
    str | msgspec.UnsetType,
    msgspec.Meta(description="Only on /events: the session this frame is about."),
]


class _FrameBase(msgspec.Struct, tag_field="kind", kw_only=True):
    session_id: FrameSessionId = msgspec.UNSET


class SnapshotFrame(_FrameBase, tag="snapshot"):
    """First frame: ``session`` on a session's stream, ``sessions`` on /events."""

    session: SessionHandle | msgspec.UnsetType = msgspec.UNSET
    sessions: list[SessionHandle] | msgspec.UnsetType = msgspec.UNSET


class OpenedFrame(_FrameBase, tag="opened"):
    """On /events only: a session was opened."""

    session: SessionHandle


class PhaseFrame(_FrameBase, tag="phase"):
    """The session entered a phase."""

    phase: Phase
    at: datetime


class ProgressFrame(_FrameBase, tag="progress"):
    """Plugin ``current`` of ``total`` started."""

    phase: Phase
    current: int
    total: int
    plugin: str


class InputRequiredFrame(_FrameBase, tag="input_required"):
    """The session waits for answers: resume it with ``{answers: {field id: value}}``."""

    plugin: str
    reason: str
    fields: list[Field]
    attempt: int
    answers: dict[str, Any] = msgspec.field(default_factory=dict)


class WarningFrame(_FrameBase, tag="warning"):
    phase: Phase | None
    message: str


class DoneFrame(_FrameBase, tag="done"):
    """Terminal: the folder is complete (``result.path``, ``result.sync_status``)."""

    result: Outcome


class FailedFrame(_FrameBase, tag="failed"):
    """Terminal: ``error`` says why; the partial folder is kept and named."""

    phase: Phase | None
    error: Outcome


class AbortedFrame(_FrameBase, tag="aborted"):
    """Terminal: cancelled, abandoned or interrupted (``reason.code``)."""

    reason: Outcome


Frame = (
    SnapshotFrame
    | OpenedFrame
    | PhaseFrame
    | ProgressFrame
    | InputRequiredFrame
    | WarningFrame
    | DoneFrame
    | FailedFrame
    | AbortedFrame
)


# ---- strict decoding of request bodies ----------------------------------------------------------

_PATH_SUFFIX = re.compile(r" - at `(?P<path>\$[^`]*)`$")
_NAMED_FIELD = re.compile(r"(?:unknown field|missing required field) `(?P<name>[^`]+)`")


def validation_field(error: msgspec.ValidationError) -> str:
    """The JSON path a msgspec validation error is about, e.g. ``$.label``.

    msgspec names unknown and missing fields in the message rather than in
    the path, so they are appended to it.
    """
    message = str(error)
    match = _PATH_SUFFIX.search(message)
    path = match.group("path") if match else "$"
    named = _NAMED_FIELD.search(message)
    if named:
        path = f"{path}.{named.group('name')}"
    return path


def decode_body(raw: bytes, schema: Any, *, optional: bool = False) -> Any:
    """Decode a JSON body into ``schema``, strictly; raise ``ApiError(400)`` otherwise.

    ``optional`` lets an empty body stand for ``{}`` (all defaults).
    """
    if not raw.strip():
        if not optional:
            raise ApiError(400, BAD_REQUEST, "A JSON request body is required.")
        raw = b"{}"
    try:
        return msgspec.json.decode(raw, type=schema)
    except msgspec.ValidationError as error:
        message = _PATH_SUFFIX.sub("", str(error))
        raise ApiError(400, BAD_REQUEST, message, field=validation_field(error)) from None
    except msgspec.DecodeError as error:
        raise ApiError(400, BAD_REQUEST, f"Malformed JSON: {error}") from None
