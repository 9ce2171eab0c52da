"""One creation session, and its JSON handle as the API and the tray show it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tray_app.sessions.states import (
    TERMINAL_STATES,
    NextAction,
    Phase,
    SessionKind,
    SessionState,
)

JsonDict = dict[str, Any]


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_z(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z`` suffix, millisecond precision (for humans and logs).

    On the wire, msgspec encodes the datetimes in handles and frames itself.
    """
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


@dataclass(slots=True, eq=False)
class Session:
    """State of one session. Mutated only through :class:`SessionStore`."""

    session_id: str
    kind: SessionKind
    state: SessionState
    request: Any
    created_at: datetime
    last_heartbeat: datetime
    destination: str | None = None
    title: str = ""
    current_phase: Phase | None = None
    next_action: NextAction = NextAction.NONE
    pending_input: JsonDict | None = None
    input_since: datetime | None = None
    progress: JsonDict | None = None
    warnings: list[str] = field(default_factory=list)
    #: Phase the session was in when it failed or was aborted.
    ended_in_phase: Phase | None = None
    error: JsonDict | None = None
    result: JsonDict | None = None
    finished_at: datetime | None = None

    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def outcome(self) -> JsonDict | None:
        return self.error if self.state is SessionState.FAILED else self.result


def to_handle(session: Session) -> JsonDict:
    """The session handle of DESIGN §3, plus ``title``, ``progress``, ``warnings``
    and ``finished_at``.

    Enum members are ``str`` and times are aware datetimes; the wire encoder
    (msgspec) writes them as their values and as ISO-8601 ``Z`` strings.
    """
    return {
        "session_id": session.session_id,
        "kind": session.kind,
        "title": session.title,
        "state": session.state,
        "current_phase": session.current_phase,
        "next_action": session.next_action,
        "created_at": session.created_at,
        "last_heartbeat": session.last_heartbeat,
        "finished_at": session.finished_at,
        "destination": session.destination,
        "pending_input": session.pending_input,
        "progress": session.progress,
        "warnings": list(session.warnings),
        "error": session.error,
        "result": session.result,
    }
