"""Input-field schema: spec checking (plugin bugs) and answer validation (operator input)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tray_app.creation.fields import (
    Field,
    FieldSpecError,
    field_to_dict,
    parse_fields,
    validate_answers,
)


def one(**spec: Any) -> Field:
    return parse_fields([{"id": "f", "label": "F", **spec}])[0]


def check(field: Field, value: object) -> tuple[object, str | None]:
    coerced, errors = validate_answers([field], {field.id: value})
    return coerced.get(field.id), errors.get(field.id)


# --- parse_fields ---------------------------------------------------------------


def test_parse_fields_accepts_a_full_spec_and_round_trips() -> None:
    raw = [
        {"id": "count", "label": "Samples", "type": "integer", "required": True,
         "min": 1, "max": 96, "default": 8, "hint": "how many"},
        {"id": "plate", "label": "Plate", "type": "choice", "options": ["96", "384"]},
        {"id": "code", "label": "Code", "type": "string", "pattern": r"[A-Z]{3}\d+"},
        {"id": "when", "label": "Date", "type": "date", "default": "2026-01-31"},
        {"id": "ok", "label": "OK", "type": "boolean"},
        {"id": "conc", "label": "Conc.", "type": "number", "min": 0.5},
        {"id": "notes", "label": "Notes", "type": "text", "max": 500},
    ]  # fmt: skip
    fields = parse_fields(raw)
    assert [f.type for f in fields] == [
        "integer", "choice", "string", "date", "boolean", "number", "text",
    ]  # fmt: skip
    assert fields[0].required is True and fields[0].default == 8
    again = parse_fields([field_to_dict(f) for f in fields])
    assert again == fields
    assert parse_fields(fields) == fields


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("nope", "must be a list"),
        ([], "at least one field"),
        ([7], "must be an object"),
        ([{"id": "a", "label": "A", "type": "colour"}], "unknown type 'colour'"),
        ([{"id": "a", "type": "string"}], "missing required field `label`"),
        ([{"id": "a", "label": "A", "type": "string", "size": 3}], "unknown field `size`"),
        ([{"id": "a", "label": "A", "type": "string"}] * 2, "duplicate id 'a'"),
        ([{"id": "a", "label": "A", "type": "choice"}], "needs a non-empty 'options'"),
        ([{"id": "a", "label": "A", "type": "choice", "options": []}], "non-empty 'options'"),
        ([{"id": "a", "label": "A", "type": "choice", "options": ["x", "x"]}], "unique"),
        ([{"id": "a", "label": "A", "type": "string", "options": ["x"]}], "only applies to choice"),
        ([{"id": "a", "label": "A", "type": "string", "pattern": "(["}], "not a valid regular"),
        ([{"id": "a", "label": "A", "type": "integer", "pattern": "x"}], "only applies to string"),
        ([{"id": "a", "label": "A", "type": "integer", "min": 5, "max": 1}], "greater than max"),
        ([{"id": "a", "label": "A", "type": "boolean", "min": 1}], "'min' only applies"),
        ([{"id": "a", "label": "A", "type": "text", "max": 2.5}], "length"),
        ([{"id": "a", "label": "A", "type": "integer", "default": "many"}], "default 'many'"),
        ([{"id": "a", "label": "A", "type": "choice", "options": ["x"], "default": "y"}],
         "default 'y' is invalid"),
        ([{"id": "has space", "label": "A", "type": "string"}], "id must start"),
        ([{"id": "a", "label": "  ", "type": "string"}], "label must not be empty"),
        ([{"id": "a", "label": "A", "type": "string", "required": "yes"}], "required"),
        ([{"id": f"f{i}", "label": "F", "type": "string"} for i in range(51)], "too many"),
    ],
)  # fmt: skip
def test_parse_fields_refuses_bad_specs_with_a_clear_message(raw: object, message: str) -> None:
    with pytest.raises(FieldSpecError) as caught:
        parse_fields(raw)
    assert message in caught.value.message


# --- validate_answers: per type ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(42, 42), ("42", 42), (" -3 ", -3), ("+7", 7), (8.0, 8)],
)
def test_integer_coercion(value: object, expected: int) -> None:
    assert check(one(type="integer"), value) == (expected, None)


@pytest.mark.parametrize("value", ["4.5", 4.5, "forty", True, [1], "1_000"])
def test_integer_refusals(value: object) -> None:
    assert check(one(type="integer"), value) == (None, "must be a whole number")


def test_integer_and_number_bounds() -> None:
    field = one(type="integer", min=1, max=96)
    assert check(field, "0")[1] == "must be at least 1"
    assert check(field, 97)[1] == "must be at most 96"
    assert check(field, 96) == (96, None)
    number = one(type="number", min=0.5, max=2)
    assert check(number, "0.25")[1] == "must be at least 0.5"
    assert check(number, 3)[1] == "must be at most 2"
    assert check(number, "1.5") == (1.5, None)


@pytest.mark.parametrize(("value", "expected"), [(1.5, 1.5), ("2.5e-3", 0.0025), (3, 3.0)])
def test_number_coercion(value: object, expected: float) -> None:
    assert check(one(type="number"), value) == (expected, None)


@pytest.mark.parametrize("value", ["abc", "nan", "inf", False, {}])
def test_number_refusals(value: object) -> None:
    assert check(one(type="number"), value)[1] in ("must be a number", "must be a finite number")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), ("true", True), ("Yes", True), ("y", True), ("on", True),
     ("1", True), (1, True), ("false", False), ("NO", False), ("off", False), (0, False)],
)  # fmt: skip
def test_boolean_coercion(value: object, expected: bool) -> None:
    assert check(one(type="boolean"), value) == (expected, None)


@pytest.mark.parametrize("value", ["maybe", 2, 0.5, []])
def test_boolean_refusals(value: object) -> None:
    assert check(one(type="boolean"), value) == (None, "must be true or false (yes/no)")


def test_required_boolean_false_is_an_answer() -> None:
    assert check(one(type="boolean", required=True), False) == (False, None)


def test_choice() -> None:
    field = one(type="choice", options=["96-well", "384-well"])
    assert check(field, "384-well") == ("384-well", None)
    assert check(field, "96-WELL") == ("96-well", None)  # CLI case slips are forgiven
    assert check(field, "48-well") == (None, "must be one of: 96-well, 384-well")
    numeric = one(type="choice", options=["96", "384"])
    assert check(numeric, 384) == ("384", None)


def test_choice_case_folding_must_be_unambiguous() -> None:
    field = one(type="choice", options=["a", "A"])
    assert check(field, "A") == ("A", None)
    assert check(field, "a") == ("a", None)
    assert check(one(type="choice", options=["ab", "AB"]), "Ab")[1] is not None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2026-02-28", "2026-02-28"), (" 2026-01-05 ", "2026-01-05"),
     (dt.date(2026, 3, 1), "2026-03-01")],
)  # fmt: skip
def test_date_coercion(value: object, expected: str) -> None:
    assert check(one(type="date"), value) == (expected, None)


@pytest.mark.parametrize(
    ("value", "message"),
    [("2026-02-30", "is not a real date"), ("28/02/2026", "must be a date YYYY-MM-DD"),
     ("20260228", "must be a date YYYY-MM-DD"), (20260228, "must be a date YYYY-MM-DD"),
     (dt.datetime(2026, 1, 1, 12, 0), "must be a date YYYY-MM-DD")],
)  # fmt: skip
def test_date_refusals(value: object, message: str) -> None:
    assert check(one(type="date"), value) == (None, message)


def test_string_rules() -> None:
    field = one(type="string", min=3, max=6, pattern=r"[A-Z]+\d*", hint="e.g. ABC12")
    assert check(field, "  ABC12 ") == ("ABC12", None)  # a one-line string is trimmed
    assert check(field, "AB")[1] == "must be at least 3 characters"
    assert check(field, "ABCDEFG")[1] == "must be at most 6 characters"
    assert check(field, "abc")[1] == "does not have the expected format (e.g. ABC12)"
    assert check(field, "ABC1x")[1] is not None  # fullmatch, not search
    assert check(one(type="string"), "two\nlines")[1] == "must be a single line"
    assert check(one(type="string"), 12) == ("12", None)
    assert check(one(type="string"), ["x"])[1] == "must be text"


def test_text_keeps_lines_and_checks_length() -> None:
    field = one(type="text", max=10)
    assert check(field, "a\nb") == ("a\nb", None)
    assert check(field, "x" * 11)[1] == "must be at most 10 characters"


# --- validate_answers: presence, defaults, unknown keys ---------------------------------


def test_required_defaults_blanks_and_unknown_keys() -> None:
    fields = parse_fields([
        {"id": "count", "label": "Count", "type": "integer", "required": True},
        {"id": "plate", "label": "Plate", "type": "choice", "options": ["96", "384"],
         "required": True, "default": "96"},
        {"id": "notes", "label": "Notes", "type": "text"},
        {"id": "ok", "label": "OK", "type": "boolean", "default": True},
    ])  # fmt: skip
    coerced, errors = validate_answers(fields, {"count": "  ", "colour": "red"})
    assert errors == {"count": "required", "colour": "unknown field"}
    assert coerced == {"plate": "96", "notes": None, "ok": True}

    coerced, errors = validate_answers(fields, {"count": "12", "plate": "384", "ok": "no"})
    assert errors == {}
    assert coerced == {"count": 12, "plate": "384", "notes": None, "ok": False}


def test_every_bad_field_is_reported_at_once() -> None:
    fields = parse_fields([
        {"id": "a", "label": "A", "type": "integer"},
        {"id": "b", "label": "B", "type": "date"},
        {"id": "c", "label": "C", "type": "boolean"},
    ])  # fmt: skip
    _, errors = validate_answers(fields, {"a": "x", "b": "y", "c": "z"})
    assert set(errors) == {"a", "b", "c"}


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = json_scalars | st.lists(json_scalars, max_size=2)


@settings(max_examples=60, deadline=None)
@given(answers=st.dictionaries(st.sampled_from(["n", "d", "c", "s", "x"]), json_values))
def test_validate_answers_never_raises_and_accounts_for_every_key(
    answers: dict[str, object],
) -> None:
    fields = parse_fields([
        {"id": "n", "label": "N", "type": "number", "min": 0},
        {"id": "d", "label": "D", "type": "date", "required": True},
        {"id": "c", "label": "C", "type": "choice", "options": ["x", "y"]},
        {"id": "s", "label": "S", "type": "string", "pattern": "[a-z]*", "max": 5},
    ])  # fmt: skip
    coerced, errors = validate_answers(fields, answers)
    assert set(coerced) | set(errors) >= {"n", "d", "c", "s"}
    assert not set(coerced) & set(errors)
    if "x" in answers:
        assert errors["x"] == "unknown field"
