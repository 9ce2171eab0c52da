"""Sessions in words: the one mapping from states, phases, end reasons, ages and titles to
the text people read. The tray menu, the sessions window, the dialogs, notifications, the
CLI and the controller all take their words from here, so a session reads the same
everywhere. No Qt: it works on sessions and on their JSON handles alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tray_app.creation.requests import CreateRequest, ProjectRequest
from tray_app.i18n import N_, _, ngettext
from tray_app.sessions.session import Session
from tray_app.sessions.states import PHASE_OF_STATE, Phase, SessionState
from tray_app.sessions.store import ABANDONED_CODE

__all__ = [
    "STATE_WORDS",
    "age_words",
    "doing_words",
    "elide",
    "error_words",
    "handle_title",
    "kind_words",
    "phase_words",
    "plugin_problem_words",
    "queue_failed_words",
    "reason_words",
    "request_title",
    "session_title",
    "state_words",
    "sync_blocked_words",
    "too_many_prompts_words",
    "was_abandoned",
]

#: Each state as an operator reads it (marked here, translated where shown: this table is
#: built at import, before the language is chosen); a phase reads as its state.
STATE_WORDS: Mapping[SessionState, str] = {
    SessionState.PENDING: N_("Starting"),
    SessionState.VALIDATING: N_("Checking the request"),
    SessionState.RENDERING: N_("Creating folders"),
    SessionState.PLUGIN_PASS: N_("Running plugins"),
    SessionState.INPUT_REQUIRED: N_("Needs input"),
    SessionState.CACHE_WRITE: N_("Writing the record"),
    SessionState.POST_VALIDATE: N_("Checking the result"),
    SessionState.SYNC_QUEUED: N_("Queueing NAS sync"),
    SessionState.DONE: N_("Done"),
    SessionState.FAILED: N_("Failed"),
    SessionState.ABORTED: N_("Cancelled"),
}

#: Each kind of session, as a word (the CLI's list; a title without one).
_KIND_WORDS: Mapping[str, str] = {"project": N_("project"), "run": N_("run")}

_STATE_OF_PHASE = {phase: state for state, phase in PHASE_OF_STATE.items()}

#: Why a session was aborted, by outcome code, to follow "Cancelled: ".
_REASON_WORDS: Mapping[str, str] = {
    "cancelled": N_("cancelled"),
    ABANDONED_CODE: N_("abandoned (no answer in time)"),
    "shutdown": N_("stopped when the app quit"),
    "shutting_down": N_("stopped when the app quit"),
    "interrupted": N_("interrupted when the app stopped"),
}


def state_words(state: SessionState | str) -> str:
    """A short label for a state, e.g. "Needs input"."""
    try:
        return _(STATE_WORDS[SessionState(state)])
    except ValueError:
        return _fallback(state)


def phase_words(phase: Phase | str | None) -> str:
    """A phase wire name in words, e.g. "Creating folders"; "" for no phase."""
    if phase is None:
        return ""
    try:
        return _(STATE_WORDS[_STATE_OF_PHASE[Phase(phase)]])
    except ValueError:
        return _fallback(phase)


def kind_words(kind: str) -> str:
    """A session's kind in words: "project" or "run"."""
    words = _KIND_WORDS.get(str(kind))
    return _(words) if words else str(kind)


def reason_words(code: str | None) -> str:
    """Why a session was aborted, e.g. "abandoned (no answer in time)"."""
    code = code or "cancelled"
    words = _REASON_WORDS.get(code)
    return _(words) if words else code.replace("_", " ")


#: A plugin call that did not succeed, by its status (the record on disk keeps the code).
_PLUGIN_STATUS_WORDS: Mapping[str, str] = {
    "missing": N_("not installed in any plugin folder"),
    "gone": N_("no longer installed"),
    "error": N_("reported an error"),
    "crashed": N_("crashed"),
    "timeout": N_("did not finish in time"),
    "bad_output": N_("gave an answer that could not be read"),
    "output_too_large": N_("gave too large an answer"),
    "escaped": N_("wrote outside the session's folder"),
}


def plugin_problem_words(name: str, status: str, detail: str | None, *, fatal: bool) -> str:
    """A plugin call that did not succeed, in a sentence: the session's error when the
    template makes plugin problems fatal, else its warning. ``detail`` is the plugin's
    own message (kept as it gave it); ``status`` ``gone`` is a plugin removed meanwhile."""
    words = _PLUGIN_STATUS_WORDS.get(status)
    what = _(words) if words else status
    if detail and status not in ("missing", "gone"):
        what = _("{what}: {detail}").format(what=what, detail=detail)
    elif detail and status == "missing" and not detail.startswith("not installed"):
        what = detail  # a broken manifest of that name explains more than "missing"
    if fatal:
        return _("Plugin {name!r} {what}.").format(name=name, what=what)
    return _("Plugin {name!r} {what}; the session goes on without it.").format(name=name, what=what)


def queue_failed_words(exc: Exception) -> str:
    """The warning of a folder whose NAS sync could not be queued."""
    return _("Could not queue the NAS sync: {error}").format(error=exc)


def sync_blocked_words(findings: list[str]) -> str:
    """The warning of a folder whose NAS sync is blocked by what checking it found (the
    first three findings named)."""
    shown = "; ".join(findings[:3]) + ("; ..." if len(findings) > 3 else "")
    return ngettext(
        "Sync blocked: {n} problem in the folder: {problems}",
        "Sync blocked: {n} problems in the folder: {problems}",
        len(findings),
    ).format(n=len(findings), problems=shown)


def too_many_prompts_words(name: str, limit: int) -> str:
    """The error of a plugin that kept asking (it would never let the session end)."""
    return ngettext(
        "Plugin {name!r} asked for input more than {n} time.",
        "Plugin {name!r} asked for input more than {n} times.",
        limit,
    ).format(name=name, n=limit)


def was_abandoned(session: Session) -> bool:
    """True when the GC aborted the session because nobody answered its prompt."""
    outcome = session.result or {}
    return session.state is SessionState.ABORTED and outcome.get("code") == ABANDONED_CODE


def doing_words(session: Session) -> str:
    """What the session is doing, or how it ended, in a few words (the state's words,
    with the plugin, the progress or the phase it ended in)."""
    state = session.state
    words = _(STATE_WORDS[state])
    if state is SessionState.PLUGIN_PASS and session.progress:
        progress = session.progress
        plugin = progress.get("plugin") or _("plugin")
        return _("{words} ({current} of {total}: {plugin})").format(
            words=words, current=progress.get("current"), total=progress.get("total"), plugin=plugin
        )
    if state is SessionState.INPUT_REQUIRED:
        plugin = (session.pending_input or {}).get("plugin")
        return _("{words} ({plugin})").format(words=words, plugin=plugin) if plugin else words
    if state is SessionState.ABORTED:
        code = (session.result or {}).get("code")
        if code not in (None, "cancelled"):
            return _("{words}: {reason}").format(words=words, reason=reason_words(code))
    if state in (SessionState.FAILED, SessionState.ABORTED):
        where = phase_words(session.ended_in_phase)
        if not where:
            return words
        # "Failed while creating folders": the phase's words follow, lower-cased.
        # Translators: {Phase} is the phase's words as they are (not lower-cased).
        return _("{words} while {phase}").format(
            words=words, phase=where[0].lower() + where[1:], Phase=where
        )
    return words


def error_words(session: Session, limit: int = 120) -> str:
    """A failed session's error message, on one line of at most ``limit`` characters."""
    error = session.error or {}
    return elide(str(error.get("message") or error.get("code") or _("unknown error")), limit)


def age_words(seconds: float) -> str:
    """A short human duration: "just now", "42 s", "4 min", "2 h 5 min", "3 d"."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return _("just now") if seconds < 10 else _("{n} s").format(n=seconds)
    minutes = seconds // 60
    if minutes < 60:
        return _("{n} min").format(n=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        if minutes:
            return _("{hours} h {minutes} min").format(hours=hours, minutes=minutes)
        return _("{n} h").format(n=hours)
    return _("{n} d").format(n=hours // 24)


def request_title(request: CreateRequest) -> str:
    """The title a session is opened with, from its request."""
    if isinstance(request, ProjectRequest):
        return _("Project {project} ({equipment})").format(
            project=request.project_name, equipment=request.equipment_id
        )
    words = _("Test run {label!r} of {project} ({equipment})")
    if request.run_kind != "test":
        words = _("Run {label!r} of {project} ({equipment})")
    return words.format(
        label=request.label, project=request.project_name, equipment=request.equipment_id
    )


def session_title(session: Session) -> str:
    """The title people see for a session, wherever it is shown."""
    return _title(session.title, session.kind, session.session_id)


def handle_title(handle: Mapping[str, Any]) -> str:
    """:func:`session_title` of a session's JSON handle (the CLI's view of it)."""
    return _title(
        str(handle.get("title") or ""),
        str(handle.get("kind") or "session"),
        str(handle.get("session_id") or ""),
    )


def elide(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with "…" where it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _title(title: str, kind: str, session_id: str) -> str:
    # The controller gives every session a title (request_title); one opened on the
    # store directly has none, and is named by its kind and the end of its id.
    if title:
        return title
    words = kind_words(kind)
    return _("{Kind} {id}").format(Kind=words[:1].upper() + words[1:], id=session_id[-6:])


def _fallback(value: object) -> str:
    return str(value).replace("_", " ").capitalize()
