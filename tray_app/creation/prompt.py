"""The prompt a waiting session shows (DESIGN §4), in one shape from the plugin host to the
dialog: typed fields, parsed once by the host, kept by the controller while the session
waits, and written out once as ``pending_input`` for the store, the API and the CLI.

Answers to it are checked in one place, :func:`check_answers`, which the controller calls;
every front end shows the field errors it returns.
"""

from __future__ import annotations

from typing import Any

import msgspec

from tray_app.creation import errors as codes
from tray_app.creation.errors import CreationError
from tray_app.creation.fields import Field, fields_to_dicts, validate_answers
from tray_app.i18n import _

__all__ = ["Prompt", "check_answers"]


class Prompt(msgspec.Struct, frozen=True, kw_only=True):
    """What one plugin asks, the ``attempt``-th time, with the answers it already has."""

    plugin: str
    reason: str
    fields: list[Field]
    attempt: int
    #: Answers given to this plugin's earlier prompts: shown again, merged on resume.
    answers: dict[str, Any] = msgspec.field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        """``pending_input`` and the ``input_required`` frame: plain JSON data."""
        return {
            "plugin": self.plugin,
            "reason": self.reason,
            "fields": fields_to_dicts(self.fields),
            "attempt": self.attempt,
            "answers": dict(self.answers),
        }


def check_answers(fields: list[Field], answers: object) -> dict[str, object]:
    """The answers coerced to their fields' types, or ``CreationError(invalid_answers)``
    with ``details.fields`` = {field id: message} for every answer that needs fixing."""
    if not isinstance(answers, dict):
        raise CreationError(
            codes.INVALID_ANSWERS,
            _("Answers must be an object of field id to value."),
            details={"fields": {}},
        )
    coerced, problems = validate_answers(fields, answers)
    if problems:
        # Keyed by field id for programs; the message names each field by its label.
        labels = {field.id: field.label for field in fields}
        raise CreationError(
            codes.INVALID_ANSWERS,
            _("Some answers need fixing: ")
            + "; ".join(f"{labels.get(key, key)}: {why}" for key, why in problems.items()),
            field=next(iter(problems)),
            details={"fields": problems},
        )
    return coerced
