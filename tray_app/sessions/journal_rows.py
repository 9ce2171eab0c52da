"""A session as one journal row and back: the only place the row's shape is written.

JSON columns are msgspec-encoded text; times are UTC epoch seconds. Reading never
trusts the file: a row that does not make a valid session raises RowError.

A row as written holds only str and float values: an absent value is ABSENT (the
statement stores it as NULL, journal_sql.py) and an enum is its text. Python's
sqlite3 binds those directly; None and str subclasses go through its adapter lookup
first, measured at ~1 µs a value against ~0.2 µs, and a row has about eight of them.
Rows read back hold NULL as None.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from tray_app.sessions.session import JsonDict, Session
from tray_app.sessions.states import (
    PHASE_OF_STATE,
    TERMINAL_STATES,
    NextAction,
    Phase,
    SessionKind,
    SessionState,
)

__all__ = ["ABSENT", "Row", "RowError", "encode_json", "row_of", "session_of"]

Row = tuple[Any, ...]

#: An absent value in a row as written: stored as NULL (no nullable column holds '').
ABSENT = ""
#: Every member's text, so a row holds exact str (``.value`` is a property, slower).
_TEXT: dict[Any, str] = {
    member: member.value for enum in (SessionKind, SessionState, Phase) for member in enum
}
_TEXT[None] = ABSENT

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
_from_ts = datetime.fromtimestamp
_FAILED = SessionState.FAILED
_INPUT_REQUIRED = SessionState.INPUT_REQUIRED


class RowError(ValueError):
    """A journal row that is not a usable session."""


def encode_json(value: Any) -> str | None:
    return None if value is None else _encode(value).decode()


def row_of(session: Session, request_json: str | None, created_ts: float) -> Row:
    """The row for ``session`` as written, in journal_db.COLUMNS order. ``request_json``
    and ``created_ts`` are the request and creation time already encoded (they never
    change, so the journal encodes them once per session)."""
    state = session.state
    outcome = session.error if state is _FAILED else session.result
    prompt = session.pending_input
    warnings = session.warnings
    heartbeat = session.last_heartbeat
    input_since = session.input_since
    finished_at = session.finished_at
    checkpoint = session.checkpoint
    text = _TEXT
    return (
        session.session_id,
        text[session.kind],
        session.title,
        ABSENT if request_json is None else request_json,
        session.destination or ABSENT,
        text[state],
        text[session.current_phase],
        text[session.ended_in_phase],
        ABSENT if outcome is None else _encode(outcome).decode(),
        ABSENT if prompt is None else _encode(prompt).decode(),
        _encode(warnings).decode() if warnings else ABSENT,
        created_ts,
        created_ts if heartbeat is session.created_at else heartbeat.timestamp(),
        ABSENT if input_since is None else input_since.timestamp(),
        ABSENT if finished_at is None else finished_at.timestamp(),
        ABSENT if checkpoint is None else _encode(checkpoint).decode(),
    )


def session_of(row: Row) -> Session:
    """A Session rebuilt from ``row``; RowError when any column is unusable."""
    try:
        return _session_of(row)
    except (ValueError, TypeError, KeyError, OverflowError, OSError, msgspec.DecodeError) as exc:
        raise RowError(f"session {row[0] if row else '?'}: {exc}") from exc


def _session_of(row: Row) -> Session:
    (
        session_id,
        kind,
        title,
        request,
        destination,
        state_name,
        phase,
        ended_in_phase,
        outcome,
        pending_input,
        warnings,
        created_at,
        last_heartbeat,
        input_since,
        finished_at,
        checkpoint,
    ) = row
    if not isinstance(session_id, str) or not session_id:
        raise ValueError("no session id")
    state = SessionState(state_name)
    session = Session(
        session_id,
        SessionKind(kind),
        _json(request),
        _from_ts(float(created_at), UTC),
        destination=destination if isinstance(destination, str) else None,
        title=str(title or ""),
    )
    session.state = state
    # The phase a state has is fixed; the stored one only matters where there is none.
    session.current_phase = PHASE_OF_STATE.get(state)
    if phase is not None and state not in TERMINAL_STATES and session.current_phase is None:
        session.current_phase = Phase(phase)
    session.ended_in_phase = None if ended_in_phase is None else Phase(ended_in_phase)
    session.last_heartbeat = _from_ts(float(last_heartbeat), UTC)
    session.warnings = [str(w) for w in _json(warnings) or []]
    session.checkpoint = _dict(_json(checkpoint))
    if state is _INPUT_REQUIRED:
        prompt = _dict(_json(pending_input))
        if prompt is None:
            raise ValueError("waiting for input without a prompt")
        session.pending_input = prompt
        session.next_action = NextAction.AWAITING_INPUT
        session.input_since = _from_ts(float(input_since), UTC) if input_since else None
    if state in TERMINAL_STATES:
        if finished_at is None:
            raise ValueError("finished without a finish time")
        session.finished_at = _from_ts(float(finished_at), UTC)
        result = _dict(_json(outcome))
        if state is _FAILED:
            session.error = result
        else:
            session.result = result
    return session


def _json(text: Any) -> Any:
    if text is None:
        return None
    if isinstance(text, bytes | str):
        return _decode(text)
    raise TypeError(f"expected JSON text, got {type(text).__name__}")


def _dict(value: Any) -> JsonDict | None:
    if value is None or isinstance(value, dict):
        return value
    raise TypeError(f"expected an object, got {type(value).__name__}")
