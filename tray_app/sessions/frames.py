"""Builders for the event frames of DESIGN §3: one JSON object per message.

Frames are plain dicts so that fan-out to many subscribers costs one
reference each; they are shared and must never be mutated after publishing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tray_app.sessions.session import JsonDict, Session
from tray_app.sessions.states import Phase, SessionState

SNAPSHOT = "snapshot"
OPENED = "opened"
PHASE = "phase"
PROGRESS = "progress"
INPUT_REQUIRED = "input_required"
WARNING = "warning"
DONE = "done"
FAILED = "failed"
ABORTED = "aborted"

TERMINAL_KINDS = frozenset({DONE, FAILED, ABORTED})

# Enum attribute access costs ~130 ns; terminal() runs on every close and reads these.
_DONE = SessionState.DONE
_FAILED = SessionState.FAILED


def snapshot(handle: JsonDict) -> JsonDict:
    return {"kind": SNAPSHOT, "session": handle}


def snapshot_all(handles: list[JsonDict]) -> JsonDict:
    return {"kind": SNAPSHOT, "sessions": handles}


def opened(handle: JsonDict) -> JsonDict:
    """On the all-sessions stream only: a session was opened."""
    return {"kind": OPENED, "session": handle}


def phase(phase: Phase, at: datetime) -> JsonDict:
    return {"kind": PHASE, "phase": phase, "at": at}


def progress(current: int, total: int, plugin: str) -> JsonDict:
    return {
        "kind": PROGRESS,
        "phase": Phase.RUNNING_PLUGINS,
        "current": current,
        "total": total,
        "plugin": plugin,
    }


def input_required(prompt: JsonDict | None) -> JsonDict:
    frame: dict[str, Any] = {"kind": INPUT_REQUIRED}
    if prompt:
        frame.update(prompt)
    return frame


def warning(phase: Phase | None, message: str) -> JsonDict:
    return {"kind": WARNING, "phase": phase, "message": message}


def done(result: JsonDict) -> JsonDict:
    return {"kind": DONE, "result": result}


def failed(phase: Phase | None, error: JsonDict) -> JsonDict:
    return {"kind": FAILED, "phase": phase, "error": error}


def aborted(reason: JsonDict) -> JsonDict:
    return {"kind": ABORTED, "reason": reason}


def terminal(session: Session) -> JsonDict:
    """The frame that ends a closed session's stream."""
    state = session.state
    if state is _DONE:
        return done(session.result or {})
    if state is _FAILED:
        return failed(session.ended_in_phase, session.error or {})
    return aborted(session.result or {})


def is_terminal(frame: JsonDict) -> bool:
    return frame.get("kind") in TERMINAL_KINDS
