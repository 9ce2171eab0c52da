"""Sessions in words: the one mapping from states, phases and ages to the text people read.

The tray menu, notifications, the sessions window and the dialogs all take
their wording from here so the same thing is always called the same name.
"""

from __future__ import annotations

from tray_app.sessions.session import Session
from tray_app.sessions.states import Phase, SessionState
from tray_app.sessions.store import ABANDONED_CODE

_STATE_WORDS: dict[SessionState, str] = {
    SessionState.PENDING: "Starting",
    SessionState.VALIDATING: "Checking the request",
    SessionState.RENDERING: "Creating folders",
    SessionState.PLUGIN_PASS: "Running plugins",
    SessionState.INPUT_REQUIRED: "Needs input",
    SessionState.CACHE_WRITE: "Writing the record",
    SessionState.POST_VALIDATE: "Checking the result",
    SessionState.SYNC_QUEUED: "Queueing NAS sync",
    SessionState.DONE: "Done",
    SessionState.FAILED: "Failed",
    SessionState.ABORTED: "Cancelled",
}

_PHASE_WORDS: dict[Phase, str] = {
    Phase.VALIDATING_INPUTS: "Validating inputs",
    Phase.RENDERING_TEMPLATE: "Rendering template",
    Phase.RUNNING_PLUGINS: "Running plugins",
    Phase.INPUT_REQUIRED: "Waiting for your input",
    Phase.WRITING_CACHE: "Writing creation record",
    Phase.VALIDATING_POST_CREATION: "Checking the new folder",
    Phase.QUEUEING_NAS_SYNC: "Queueing NAS sync",
    Phase.DONE: "Finished",
}


def state_in_words(state: SessionState | str) -> str:
    """A short label for a state, e.g. "Needs input"."""
    try:
        return _STATE_WORDS[SessionState(state)]
    except ValueError:
        return str(state).replace("_", " ").capitalize()


def phase_words(phase: Phase | str | None) -> str:
    """A phase wire name in words, e.g. "Rendering template"; "" for no phase."""
    if phase is None:
        return ""
    try:
        return _PHASE_WORDS[Phase(phase)]
    except ValueError:
        return str(phase).replace("_", " ").capitalize()


def was_abandoned(session: Session) -> bool:
    """True when the GC aborted the session because nobody answered its prompt."""
    outcome = session.result or {}
    return session.state is SessionState.ABORTED and outcome.get("code") == ABANDONED_CODE


def phase_in_words(session: Session) -> str:
    """What the session is doing (or how it ended), in a few words."""
    state = session.state
    if state is SessionState.PENDING:
        return "Waiting to start"
    if state is SessionState.PLUGIN_PASS and session.progress:
        progress = session.progress
        plugin = progress.get("plugin") or "plugin"
        return f"Running plugins ({progress.get('current')} of {progress.get('total')}: {plugin})"
    if state is SessionState.INPUT_REQUIRED:
        plugin = (session.pending_input or {}).get("plugin")
        return f"Waiting for your input ({plugin})" if plugin else "Waiting for your input"
    if state is SessionState.DONE:
        return "Finished"
    if state is SessionState.FAILED:
        where = phase_words(session.ended_in_phase).lower()
        return f"Failed while {where}" if where else "Failed"
    if state is SessionState.ABORTED:
        if was_abandoned(session):
            return "Abandoned: no answer in time"
        where = phase_words(session.ended_in_phase).lower()
        return f"Cancelled while {where}" if where else "Cancelled"
    return phase_words(session.current_phase) or state_in_words(state)


def describe_age(seconds: float) -> str:
    """A rough, short duration: "just now", "45 s", "3 min", "2 h", "4 d"."""
    seconds = max(0.0, seconds)
    if seconds < 5:
        return "just now"
    if seconds < 60:
        return f"{int(seconds)} s"
    minutes = seconds / 60
    if minutes < 60:
        return f"{int(minutes)} min"
    hours = minutes / 60
    if hours < 48:
        return f"{int(hours)} h"
    return f"{int(hours / 24)} d"


def session_title(session: Session) -> str:
    """The title people see; falls back to the kind and a short id."""
    if session.title:
        return session.title
    return f"{session.kind.value.capitalize()} {session.session_id[-6:]}"
