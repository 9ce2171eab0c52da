"""Input-required fields (DESIGN §4): the schema a plugin uses to ask the operator
for values, and the validation of the operator's answers against it.

``parse_fields`` checks a plugin's spec (a bad spec is the plugin's bug);
``validate_answers`` coerces answers from JSON or CLI strings and reports one
short message per field id (a bad answer is the operator's to fix).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any, Literal

import msgspec

from tray_app.i18n import _

FieldType = Literal["string", "text", "integer", "number", "boolean", "choice", "date"]
FIELD_TYPES: tuple[str, ...] = ("string", "text", "integer", "number", "boolean", "choice", "date")

#: Field ids are keys in answers and in ``exlab-tray answer id=value``: keep them plain.
FIELD_ID_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
#: A prompt with more fields than this is a plugin bug, not a form.
MAX_FIELDS = 50

_TRUE_WORDS = frozenset({"true", "yes", "y", "on", "1"})
_FALSE_WORDS = frozenset({"false", "no", "n", "off", "0"})
_INTEGER_TEXT = re.compile(r"[+-]?\d+")
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_LENGTH_TYPES = frozenset({"string", "text"})
_NUMERIC_TYPES = frozenset({"integer", "number"})


class FieldSpecError(ValueError):
    """A plugin's field spec is malformed; ``message`` says what and where."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Field(msgspec.Struct, forbid_unknown_fields=True):
    """One value a plugin asks for. ``min``/``max`` bound numbers, or the length
    of ``string``/``text`` answers; ``pattern`` must match a whole string answer."""

    id: str
    label: str
    type: FieldType
    required: bool = False
    default: Any = None
    options: list[str] | None = None
    hint: str | None = None
    pattern: str | None = None
    min: int | float | None = None
    max: int | float | None = None


def field_to_dict(field: Field) -> dict[str, Any]:
    """The field as plain JSON data, every key present (``None`` when unset)."""
    data: dict[str, Any] = msgspec.to_builtins(field)
    return data


def fields_to_dicts(fields: list[Field]) -> list[dict[str, Any]]:
    return [field_to_dict(field) for field in fields]


def parse_fields(raw: object) -> list[Field]:
    """Check a plugin's field spec (a list of field objects) and return it typed.

    Raises ``FieldSpecError`` naming the first problem: not a list, unknown key,
    bad type, duplicate id, choice without options, bad regex, bad bounds, or a
    default that its own field would refuse.
    """
    if not isinstance(raw, list):
        raise FieldSpecError(f"fields must be a list of field objects, not {_kind(raw)}")
    if not raw:
        raise FieldSpecError("fields must list at least one field")
    if len(raw) > MAX_FIELDS:
        raise FieldSpecError(f"too many fields ({len(raw)}; at most {MAX_FIELDS})")
    fields: list[Field] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        field = _parse_one(index, item)
        if field.id in seen:
            raise FieldSpecError(f"field #{index + 1}: duplicate id {field.id!r}")
        seen.add(field.id)
        fields.append(field)
    return fields


def _parse_one(index: int, item: object) -> Field:
    where = f"field #{index + 1}"
    if isinstance(item, Field):
        item = field_to_dict(item)
    if not isinstance(item, dict):
        raise FieldSpecError(f"{where}: must be an object, not {_kind(item)}")
    if isinstance(item.get("id"), str):
        where = f"field {item['id']!r}"
    if isinstance(item.get("type"), str) and item["type"] not in FIELD_TYPES:
        raise FieldSpecError(
            f"{where}: unknown type {item['type']!r} (use one of: {', '.join(FIELD_TYPES)})"
        )
    try:
        field = msgspec.convert(item, Field)
    except msgspec.ValidationError as exc:
        raise FieldSpecError(f"{where}: {_spec_error_text(exc)}") from None
    if not FIELD_ID_PATTERN.fullmatch(field.id):
        raise FieldSpecError(
            f"{where}: id must start with a letter or '_' and use only letters, digits, "
            "'_', '.' or '-' (at most 64 characters)"
        )
    if not field.label.strip():
        raise FieldSpecError(f"{where}: label must not be empty")
    _check_options(where, field)
    _check_pattern(where, field)
    _check_bounds(where, field)
    if field.default is not None:
        _value, problem = _coerce(field, field.default)
        if problem is not None:
            raise FieldSpecError(f"{where}: default {field.default!r} is invalid: {problem}")
    return field


def _spec_error_text(exc: msgspec.ValidationError) -> str:
    text = str(exc)
    # msgspec says "Expected `str`, got `int` - at `$.id`"; turn the path into plain words.
    match = re.fullmatch(r"(.*) - at `\$\.?(.*)`", text)
    if match:
        message, path = match.groups()
        return f"{path}: {message}" if path else message
    return text


def _check_options(where: str, field: Field) -> None:
    if field.type == "choice":
        if not field.options:
            raise FieldSpecError(f"{where}: a choice field needs a non-empty 'options' list")
        if len(set(field.options)) != len(field.options):
            raise FieldSpecError(f"{where}: options must be unique")
        if any(not option.strip() for option in field.options):
            raise FieldSpecError(f"{where}: options must not be empty strings")
    elif field.options is not None:
        raise FieldSpecError(f"{where}: 'options' only applies to choice fields")


def _check_pattern(where: str, field: Field) -> None:
    if field.pattern is None:
        return
    if field.type not in _LENGTH_TYPES:
        raise FieldSpecError(f"{where}: 'pattern' only applies to string and text fields")
    try:
        re.compile(field.pattern)
    except re.error as exc:
        raise FieldSpecError(f"{where}: pattern is not a valid regular expression: {exc}") from None


def _check_bounds(where: str, field: Field) -> None:
    for name in ("min", "max"):
        bound = getattr(field, name)
        if bound is None:
            continue
        if field.type not in _NUMERIC_TYPES and field.type not in _LENGTH_TYPES:
            raise FieldSpecError(
                f"{where}: '{name}' only applies to integer, number, string and text fields"
            )
        if isinstance(bound, float) and not math.isfinite(bound):
            raise FieldSpecError(f"{where}: '{name}' must be a finite number")
        if field.type in _LENGTH_TYPES and (bound < 0 or bound != int(bound)):
            raise FieldSpecError(f"{where}: '{name}' is a length here: a whole number >= 0")
    if field.min is not None and field.max is not None and field.min > field.max:
        raise FieldSpecError(f"{where}: min ({field.min}) is greater than max ({field.max})")


def validate_answers(
    fields: list[Field], answers: dict[str, object]
) -> tuple[dict[str, object], dict[str, str]]:
    """Coerce ``answers`` to the fields' types and check every rule.

    Returns ``(coerced, errors)``. ``coerced`` has one entry per field: the value,
    the field's default when the answer is missing or blank, or ``None`` for a
    blank optional field without default. ``errors`` maps a field id (or an
    unknown answer key) to a short message; it is empty when all answers are good.
    """
    by_id = {field.id: field for field in fields}
    coerced: dict[str, object] = {}
    errors: dict[str, str] = {}
    for key in answers:
        if key not in by_id:
            errors[str(key)] = _("unknown field")
    for field in fields:
        value = answers.get(field.id)
        if _is_blank(value):
            if field.default is not None:
                coerced[field.id] = _coerce(field, field.default)[0]
            elif field.required:
                errors[field.id] = "required"
            else:
                coerced[field.id] = None
            continue
        result, problem = _coerce(field, value)
        if problem is not None:
            errors[field.id] = problem
        else:
            coerced[field.id] = result
    return coerced, errors


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _coerce(field: Field, value: object) -> tuple[object, str | None]:
    """``(value, None)`` when ``value`` fits ``field``, else ``(None, message)``."""
    if field.type == "boolean":
        return _coerce_boolean(value)
    if field.type == "integer":
        number, problem = _coerce_integer(value)
        return (number, problem) if problem else _check_range(field, number)
    if field.type == "number":
        real, problem = _coerce_number(value)
        return (real, problem) if problem else _check_range(field, real)
    if field.type == "choice":
        return _coerce_choice(field, value)
    if field.type == "date":
        return _coerce_date(value)
    return _coerce_text(field, value)


def _coerce_boolean(value: object) -> tuple[object, str | None]:
    if isinstance(value, bool):
        return value, None
    if isinstance(value, int) and value in (0, 1):
        return bool(value), None
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True, None
        if word in _FALSE_WORDS:
            return False, None
    return None, _("must be true or false (yes/no)")


def _coerce_integer(value: object) -> tuple[int, str | None]:
    if isinstance(value, bool):
        return 0, _("must be a whole number")
    if isinstance(value, int):
        return value, None
    if isinstance(value, float) and value.is_integer():
        return int(value), None
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        return int(value.strip()), None
    return 0, _("must be a whole number")


def _coerce_number(value: object) -> tuple[float, str | None]:
    if isinstance(value, bool):
        return 0.0, _("must be a number")
    if isinstance(value, int | float):
        real = float(value)
    elif isinstance(value, str):
        try:
            real = float(value.strip())
        except ValueError:
            return 0.0, _("must be a number")
    else:
        return 0.0, _("must be a number")
    if not math.isfinite(real):
        return 0.0, _("must be a finite number")
    return real, None


def _check_range(field: Field, number: float) -> tuple[object, str | None]:
    if field.min is not None and number < field.min:
        return None, _("must be at least {limit}").format(limit=_show(field.min))
    if field.max is not None and number > field.max:
        return None, _("must be at most {limit}").format(limit=_show(field.max))
    return number, None


def _coerce_choice(field: Field, value: object) -> tuple[object, str | None]:
    options = field.options or []
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = _show(value)
    if isinstance(value, str):
        text = value.strip()
        if text in options:
            return text, None
        # Forgive case on the command line when it is unambiguous.
        folded = [option for option in options if option.casefold() == text.casefold()]
        if len(folded) == 1:
            return folded[0], None
    return None, _("must be one of: ") + ", ".join(options)


def _coerce_date(value: object) -> tuple[object, str | None]:
    if isinstance(value, dt.datetime):
        return None, _("must be a date YYYY-MM-DD")
    if isinstance(value, dt.date):
        return value.isoformat(), None
    if isinstance(value, str) and _DATE_TEXT.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip()).isoformat(), None
        except ValueError:
            return None, _("is not a real date")
    return None, _("must be a date YYYY-MM-DD")


def _coerce_text(field: Field, value: object) -> tuple[object, str | None]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = _show(value)
    if not isinstance(value, str):
        return None, _("must be text")
    if field.type == "string":
        value = value.strip()
        if "\n" in value or "\r" in value:
            return None, _("must be a single line")
    length = len(value)
    if field.min is not None and length < field.min:
        return None, _("must be at least {limit} characters").format(limit=_show(field.min))
    if field.max is not None and length > field.max:
        return None, _("must be at most {limit} characters").format(limit=_show(field.max))
    if field.pattern is not None and re.fullmatch(field.pattern, value) is None:
        return None, _("does not have the expected format") + (
            _(" ({hint})").format(hint=field.hint) if field.hint else ""
        )
    return value, None


def _show(number: float) -> str:
    """``3`` rather than ``3.0`` in messages and choice matching."""
    return str(int(number)) if float(number).is_integer() else str(number)


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__
