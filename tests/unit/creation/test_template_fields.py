"""Template questions as prompt fields, and template variables checked by the prompt's own
validator: the same rules and the same words as a plugin's prompt answers."""

from __future__ import annotations

from tray_app.creation.fields import validate_answers
from tray_app.creation.template_fields import (
    check_template_answers,
    choice_value,
    fields_from_questions,
)
from tray_app.creation.templates import Question

QUESTIONS = [
    Question("replicates", "int", 3, "How many replicates", has_default=True),
    Question("dilution", "float", None, "Dilution factor"),
    Question("reader", "str", "spark", choices=["spark", "infinite"], has_default=True),
    Question("wells", "int", 96, choices=[96, 384], has_default=True),
    Question("equipment_id", "str", "X", has_default=True),
    Question("shaken", "bool", False, has_default=True),
    Question("comment", "str", "{{ label }}", has_default=True),
    Question("layout", "yaml", None, has_default=True),
]


def test_template_questions_become_fields() -> None:
    fields = fields_from_questions(QUESTIONS, skip={"equipment_id"})
    by_id = {f.id: f for f in fields}
    assert list(by_id) == [
        "replicates", "dilution", "reader", "wells", "shaken", "comment", "layout",
    ]  # fmt: skip
    assert by_id["replicates"].type == "integer"
    assert by_id["replicates"].hint == "How many replicates"
    assert not by_id["replicates"].required
    assert by_id["dilution"].type == "number"
    assert by_id["dilution"].required
    assert by_id["reader"].options == ["spark", "infinite"]
    assert by_id["wells"].options == ["96", "384"]
    assert by_id["wells"].default == "96"
    assert by_id["shaken"].type == "boolean"
    assert by_id["comment"].default is None  # a Jinja default is Copier's to render
    assert by_id["layout"].type == "text"
    assert choice_value(QUESTIONS[3], "384") == 384
    assert choice_value(QUESTIONS[3], "1536") == "1536"
    _, errors = validate_answers(fields, {"wells": "96"})
    assert errors == {"dilution": "required"}


def test_a_question_that_cannot_be_a_field_is_shown_as_text() -> None:
    odd = Question("count", "int", "many", has_default=True)  # a default its type refuses
    [field] = fields_from_questions([odd])
    assert (field.id, field.type, field.default) == ("count", "string", None)


def test_variables_are_coerced_by_the_prompts_validator() -> None:
    values, problems = check_template_answers(
        QUESTIONS,
        {"replicates": "4", "wells": 384, "shaken": "yes", "reader": "Spark", "extra": [1]},
    )
    assert problems == {}
    assert values == {
        "replicates": 4, "wells": 384, "shaken": True, "reader": "spark", "extra": [1],
    }  # fmt: skip


def test_refused_variables_get_the_prompts_words() -> None:
    _, problems = check_template_answers(
        QUESTIONS, {"replicates": "lots", "wells": 1536, "dilution": "x", "shaken": "maybe"}
    )
    assert problems == {
        "replicates": "must be a whole number",
        "wells": "must be one of: 96, 384",
        "dilution": "must be a number",
        "shaken": "must be true or false (yes/no)",
    }


def test_blanks_and_structured_values_pass_as_given() -> None:
    values, problems = check_template_answers(
        QUESTIONS, {"dilution": "", "layout": {"rows": 8}, "comment": None}
    )
    assert problems == {}
    assert values == {"dilution": "", "layout": {"rows": 8}, "comment": None}
