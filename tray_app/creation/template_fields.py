"""Template questions as prompt fields: the new-session dialog draws them with the same
editors as a plugin's prompt, and the pipeline checks template variables with the same
validator (:func:`tray_app.creation.fields.validate_answers`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from tray_app.creation.fields import Field, FieldSpecError, parse_fields, validate_answers
from tray_app.creation.templates import Question

__all__ = ["check_template_answers", "choice_value", "fields_from_questions", "question_options"]

_log = logging.getLogger(__name__)

_COPIER_TYPES = {
    "str": "string",
    "path": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "yaml": "text",
    "json": "text",
}
#: Copier types whose value may be structured data; text is only how a form writes it.
STRUCTURED_TYPES = frozenset({"yaml", "json"})


def fields_from_questions(
    questions: Iterable[Question], *, skip: Iterable[str] = ()
) -> list[Field]:
    """Template questions as prompt fields.

    Copier types map to field types (int -> integer, float -> number, bool ->
    boolean, yaml/json -> text, anything else -> string); a question with
    choices becomes a choice field (options as text; see :func:`choice_value`).
    A question without a default is required. One that cannot be expressed is
    shown as a plain string field rather than dropped. Names in ``skip`` (the
    variables ExLab fills in itself) and private ``_names`` are left out.
    """
    skipped = set(skip)
    fields: list[Field] = []
    for question in questions:
        name = question.name
        if not name or name.startswith("_") or name in skipped:
            continue
        fields.append(_field(question))
    return fields


def _field(question: Question) -> Field:
    name = question.name
    label = name.replace("_", " ").capitalize()
    spec: dict[str, Any] = {
        "id": name,
        "label": label,
        "type": _COPIER_TYPES.get(question.type or "str", "string"),
        "required": not question.has_default and not question.conditional,
    }
    if question.help:
        spec["hint"] = question.help
    if question.choices:
        spec["type"] = "choice"
        spec["options"] = [str(value) for value, _label in question_options(question.choices)]
    default = question.default
    if default is not None and not (isinstance(default, str) and "{{" in default):
        spec["default"] = str(default) if spec["type"] == "choice" else default
    try:
        [field] = parse_fields([spec])
    except FieldSpecError as error:
        _log.warning("template question %s shown as text: %s", name, error)
        [field] = parse_fields([{"id": name, "label": label, "type": "string"}])
    return field


def choice_value(question: Question, text: object) -> object:
    """The original choice (e.g. the int 3) behind the option text a choice field gave."""
    for value, _label in question_options(question.choices):
        if str(value) == text:
            return value
    return text


def check_template_answers(
    questions: Iterable[Question], supplied: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Check the variables a request gives for the template's questions with the prompt's
    validator; returns ``(values, problems)``: each checked value coerced to its question's
    type (a choice back to its original value), and {name: message} for the refused ones.

    Names that are no question pass as they are (Copier takes extra data); so do blank
    values (the template decides what a blank means, as before) and structured values of
    yaml/json questions (the validator only knows their text form).
    """
    by_name = {q.name: q for q in questions}
    values = dict(supplied)
    to_check: dict[str, Any] = {}
    for name, value in supplied.items():
        question = by_name.get(name)
        if question is None or value is None or (isinstance(value, str) and not value.strip()):
            continue
        if question.type in STRUCTURED_TYPES and not isinstance(value, str):
            continue
        to_check[name] = value
    fields = [_field(by_name[name]) for name in to_check]
    coerced, problems = validate_answers(fields, to_check)
    for field in fields:
        if field.id not in problems:
            value = coerced[field.id]
            if field.type == "choice":
                value = choice_value(by_name[field.id], value)
            values[field.id] = value
    return values, problems


def question_options(raw: object) -> list[tuple[Any, str]]:
    """(value, label) pairs from a list of values, of {value, label} dicts,
    of [label, value] pairs, or a {label: value} mapping (Copier's form)."""
    pairs: list[tuple[Any, str]] = []
    if isinstance(raw, dict):
        return [(value, str(label)) for label, value in raw.items()]
    if not isinstance(raw, list | tuple):
        return pairs
    for item in raw:
        if isinstance(item, dict):
            value = item.get("value", item.get("label"))
            pairs.append((value, str(item.get("label", value))))
        elif isinstance(item, list | tuple) and len(item) == 2:
            pairs.append((item[1], str(item[0])))
        else:
            pairs.append((item, str(item)))
    return pairs
