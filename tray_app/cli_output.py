"""What the ``exlab-tray`` command line prints: text for people (in the tray's words) or
JSON for programs, its exit codes, and the usage error it raises for bad local input."""

from __future__ import annotations

import json
import sys
from typing import Any

from tray_app.i18n import N_, _

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NO_INSTANCE = 3
EXIT_INTERRUPTED = 130

TERMINAL_KINDS = ("done", "failed", "aborted")
#: Error codes of a request the checks refuse: what was given is wrong, like a usage error.
REFUSED_CODES = frozenset({"validation_failed", "invalid_answers", "bad_request"})


class UsageError(Exception):
    """Bad input found after parsing (e.g. an unreadable answers file): exit 2."""


class Output:
    """Text for people or JSON for programs; prompts and errors go to stderr."""

    def __init__(self, *, as_json: bool) -> None:
        self.as_json = as_json

    def text(self, line: str, *, err: bool = False) -> None:
        stream = sys.stderr if err or self.as_json else sys.stdout
        print(line, file=stream, flush=True)

    def json(self, value: Any) -> None:
        print(json.dumps(value, ensure_ascii=False), flush=True)

    def error(self, error: dict[str, Any]) -> None:
        """An error in words: its message, each field problem by the field's label."""
        if self.as_json:
            self.json({"error": error})
            return
        field = error.get("field")
        # A refused answer's message names its fields by their labels already.
        named = error.get("code") == "invalid_answers"
        where = f" [{field_label(field)}]" if field and not named else ""
        words = _("error: {message} ({code})").format(message=error["message"], code=error["code"])
        print(words + where, file=sys.stderr, flush=True)
        problems = (error.get("details") or {}).get("errors") or []
        for problem in problems if len(problems) > 1 else []:
            name = problem.get("field")
            label = f"{field_label(name)}: " if name else ""
            print(f"  {label}{problem.get('message')}", file=sys.stderr, flush=True)

    def frame(self, frame: dict[str, Any]) -> None:
        if self.as_json:
            self.json(frame)
            return
        self.text(describe_frame(frame))


def describe_frame(frame: dict[str, Any]) -> str:
    """One event frame in the tray's words ("Needs input", "Cancelled", ...)."""
    kind = frame.get("kind")
    if kind == "snapshot":
        handle = frame["session"]
        return _("session {id} ({title}): {state}").format(
            id=handle["session_id"], title=describe(handle), state=state_text(handle["state"])
        )
    if kind == "phase":
        return f"-> {phase_text(frame.get('phase'))}"
    if kind == "progress":
        return _("   plugin {plugin} ({current} of {total})").format(
            plugin=frame.get("plugin"), current=frame.get("current"), total=frame.get("total")
        )
    if kind == "input_required":
        return _("?  Needs input: {plugin} asks: {reason}").format(
            plugin=frame.get("plugin"), reason=frame.get("reason", "")
        )
    if kind == "warning":
        return _("!  warning: {message}").format(message=frame.get("message"))
    if kind == "done":
        result = frame.get("result") or {}
        lines = [
            _("Done: {path} (NAS sync: {sync})").format(
                path=result.get("path"), sync=sync_text(result.get("sync_status"))
            )
        ]
        lines += [
            _("!  warning: {message}").format(message=w) for w in result.get("warnings") or []
        ]
        return "\n".join(lines)
    if kind == "failed":
        error = frame.get("error") or {}
        field = f" [{field_label(error['field'])}]" if error.get("field") else ""
        words = _("Failed: {message} ({code})")
        return words.format(message=error.get("message"), code=error.get("code")) + field
    if kind == "aborted":
        reason = frame.get("reason") or {}
        cancelled = _("Cancelled: {reason}")
        return str(
            reason.get("message") or cancelled.format(reason=reason_text(reason.get("code")))
        )
    return json.dumps(frame)


#: The request's fields as the New project / New run dialogs label them (marked here,
#: translated in field_label).
REQUEST_LABELS = {
    "equipment_id": N_("Equipment"),
    "project_name": N_("Project"),
    "operator": N_("Operator"),
    "label": N_("Label"),
    "objective": N_("Objective"),
    "template": N_("Template"),
    "run_kind": N_("Run kind"),
    "destination": N_("Folder"),
}


def field_label(field: str) -> str:
    """A request field by its label (``variables.x`` is the template variable x)."""
    if field.startswith("variables."):
        return _("template variable {name}").format(name=field.removeprefix("variables."))
    label = REQUEST_LABELS.get(field)
    return _(label) if label else field


# The words come from the one wording module the tray uses too, so a session reads the
# same here as in the menu and the sessions window (imported on use: the CLI starts lean).
def describe(handle: dict[str, Any]) -> str:
    from tray_app.creation.wording import handle_title

    return handle_title(handle)


def state_text(state: str) -> str:
    from tray_app.creation.wording import state_words

    return state_words(state)


def sync_text(status: str | None) -> str:
    from tray_app.creation.sync.summary import status_words

    return status_words(status)


#: A field's type as ``field_hint`` names it (marked here, translated there).
_TYPE_WORDS = {
    "string": N_("text"),
    "text": N_("text (several lines)"),
    "integer": N_("whole number"),
    "number": N_("number"),
}


def kind_text(kind: str) -> str:
    from tray_app.creation.wording import kind_words

    return kind_words(kind)


def reason_text(code: str | None) -> str:
    from tray_app.creation.wording import reason_words

    return reason_words(code)


def phase_text(phase: str | None) -> str:
    from tray_app.creation.wording import phase_words

    return phase_words(phase)


def field_hint(spec: dict[str, Any]) -> str:
    """``integer, 1..384, required``: the type, its bounds and whether it is required."""
    kind = spec.get("type", "string")
    words = _TYPE_WORDS.get(kind)
    parts = [_(words) if words else kind]
    if kind == "choice" and spec.get("options"):
        parts = [_("one of {options}").format(options=", ".join(map(str, spec["options"])))]
    elif kind == "boolean":
        parts = [_("yes/no")]
    elif kind == "date":
        parts = [_("date YYYY-MM-DD")]
    low, high = spec.get("min"), spec.get("max")
    if kind in ("string", "text"):
        if low is not None:
            parts.append(_("at least {n} characters").format(n=plain(low)))
        if high is not None:
            parts.append(_("at most {n} characters").format(n=plain(high)))
    elif low is not None or high is not None:
        parts.append("..".join("" if bound is None else plain(bound) for bound in (low, high)))
    if spec.get("required"):
        parts.append(_("required"))
    return ", ".join(parts)


def plain(value: Any) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def outcome_text(outcome: dict[str, Any], *, with_code: bool = False) -> str:
    """A result or an error for people: its message (an error's with its code, as the
    event lines print it), or where the folder is and its NAS sync; the other keys are
    for programs (``--json``)."""
    if outcome.get("message"):
        code = f" ({outcome['code']})" if with_code and outcome.get("code") else ""
        return f"{outcome['message']}{code}"
    if outcome.get("path"):
        sync = outcome.get("sync_status")
        if sync:
            return _("{path} (NAS sync: {sync})").format(path=outcome["path"], sync=sync_text(sync))
        return str(outcome["path"])
    return one_line(outcome)


def one_line(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if v not in (None, [], {}))
    return str(value)


def exit_for_state(state: str) -> int:
    return EXIT_FAILED if state in ("failed", "aborted") else EXIT_OK
