"""Field widgets: one fitting editor per type, defaults, empty values, errors under fields,
and template questions drawn as a form (turning them into fields is tested without Qt in
tests/unit/creation/test_template_fields.py)."""

from __future__ import annotations

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
)
from pytestqt.qtbot import QtBot

from tray_app.creation.fields import parse_fields, validate_answers
from tray_app.creation.template_fields import fields_from_questions
from tray_app.creation.templates import Question
from tray_app.ui.field_widgets import FieldForm
from tray_app.ui.keyboard import strip_mnemonic

SPEC = [
    {"id": "name", "label": "Sample name", "type": "string", "required": True, "max": 20},
    {"id": "notes", "label": "Notes", "type": "text", "hint": "Free text"},
    {"id": "count", "label": "Samples", "type": "integer", "required": True, "min": 1, "max": 96},
    {"id": "volume", "label": "Volume (µl)", "type": "number", "default": 2.5, "min": 0},
    {"id": "controls", "label": "Include controls", "type": "boolean", "default": True},
    {"id": "plate", "label": "Plate", "type": "choice", "options": ["96-well", "384-well"]},
    {"id": "prep", "label": "Prep date", "type": "date", "default": "2026-11-20"},
]


def make_form(qtbot: QtBot) -> FieldForm:
    form = FieldForm(parse_fields(SPEC))
    qtbot.addWidget(form)
    return form


def test_each_type_gets_its_own_editor_with_defaults(qtbot: QtBot) -> None:
    form = make_form(qtbot)
    widgets = {field_id: editor.widget for field_id, editor in form.editors.items()}
    assert isinstance(widgets["name"], QLineEdit)
    assert widgets["name"].maxLength() == 20
    assert isinstance(widgets["notes"], QPlainTextEdit)
    assert isinstance(widgets["count"], QSpinBox)
    assert widgets["count"].maximum() == 96
    assert isinstance(widgets["volume"], QDoubleSpinBox)
    assert isinstance(widgets["controls"], QCheckBox)
    assert isinstance(widgets["plate"], QComboBox)
    assert isinstance(widgets["prep"], QDateEdit)
    assert widgets["prep"].calendarPopup()

    # Empty optional and required fields are left out; defaults come through typed.
    assert form.values() == {"volume": 2.5, "controls": True, "prep": "2026-11-20"}


def test_required_marks_hints_and_accessible_names(qtbot: QtBot) -> None:
    form = make_form(qtbot)
    assert strip_mnemonic(form.findChild(QLabel, "label_name").text()) == "Sample name *"
    assert strip_mnemonic(form.findChild(QLabel, "label_notes").text()) == "Notes"
    assert form.findChild(QLabel, "hint_notes").text() == "Free text"
    assert form.editors["count"].widget.accessibleName() == "Samples"
    assert form.findChild(QLabel, "label_name").buddy() is form.editors["name"].widget


def test_filled_values_validate_and_errors_show_under_their_field(qtbot: QtBot) -> None:
    form = make_form(qtbot)
    qtbot.keyClicks(form.editors["name"].widget, "  S-17 ")
    form.editors["notes"].widget.setPlainText("first plate")
    form.editors["count"].widget.setValue(48)
    form.editors["controls"].widget.setChecked(False)
    form.editors["plate"].widget.setCurrentIndex(2)
    form.editors["prep"].widget.setDate(QDate(2026, 11, 21))

    answers = form.values()
    assert answers == {
        "name": "S-17",
        "notes": "first plate",
        "count": 48,
        "volume": 2.5,
        "controls": False,
        "plate": "384-well",
        "prep": "2026-11-21",
    }
    coerced, errors = validate_answers(form.fields, answers)
    assert errors == {}
    assert coerced["count"] == 48

    unmatched = form.show_errors({"count": "must be at most 96", "other": "unknown field"})
    assert form.error_text("count") == "Must be at most 96"
    assert form.error_text("name") == ""
    assert unmatched == {"other": "unknown field"}
    form.clear_errors()
    assert form.error_text("count") == ""


def test_optional_numbers_and_dates_can_stay_unset(qtbot: QtBot) -> None:
    fields = parse_fields(
        [
            {"id": "n", "label": "N", "type": "integer"},
            {"id": "x", "label": "X", "type": "number"},
            {"id": "d", "label": "D", "type": "date"},
        ]
    )
    form = FieldForm(fields)
    qtbot.addWidget(form)
    assert form.values() == {}
    assert form.editors["n"].widget.text() == "—"
    form.editors["n"].widget.stepUp()
    assert form.values() == {"n": -(2**31 - 2)}  # a real value once the person picks one


def test_template_questions_draw_as_a_form(qtbot: QtBot) -> None:
    questions = [
        Question("wells", "int", 96, choices=[96, 384], has_default=True),
        Question("dilution", "float", None, "Dilution factor"),
    ]
    fields = fields_from_questions(questions)
    form = FieldForm(fields)
    qtbot.addWidget(form)
    assert isinstance(form.editors["wells"].widget, QComboBox)
    assert isinstance(form.editors["dilution"].widget, QDoubleSpinBox)
    assert form.values() == {"wells": "96"}
