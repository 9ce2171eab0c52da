"""One fitting editor per prompt field type (DESIGN §4): text, number, yes/no, choice,
date; each reads and sets its field's value, "not set" included.

``field_widgets.FieldForm`` lays them out with labels, hints and error lines.

Qt names a field from the label that has it as buddy; on Linux a combo box is named by its
current value and labelled by relation (Qt's choice for AT-SPI), but its popup list and the
line edit of an editable combo get no name at all unless we give them one
(:func:`name_combo_parts`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QDate
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QWidget,
)

from tray_app.creation.fields import Field
from tray_app.creation.template_fields import question_options
from tray_app.i18n import _

__all__ = [
    "BooleanEditor",
    "FieldEditor",
    "LineEditor",
    "TextEditor",
    "connect_edited",
    "make_editor",
    "name_combo_parts",
]

_log = logging.getLogger(__name__)

_INT_LIMIT = 2**31 - 2  # QSpinBox holds a C int; keep one below for the "not set" sentinel
_FLOAT_LIMIT = 1e12
_NOT_SET = "—"


class FieldEditor:
    """One field's editor widget plus how to read and write its value.

    ``value()`` returns the answer as the controller expects it (str, int,
    float, bool, ISO date string), or None when the person left it empty.
    """

    def __init__(self, field: Field, widget: QWidget) -> None:
        self.field = field
        self.widget = widget
        widget.setObjectName(f"field_{field.id}")
        widget.setAccessibleName(field.label or field.id)
        if field.hint:
            widget.setAccessibleDescription(field.hint)
            widget.setToolTip(field.hint)
        # Every editor starts on the field's default (its widget is made by now).
        self.set_value(field.default)

    def value(self) -> object | None:
        raise NotImplementedError

    def set_value(self, value: object | None) -> None:
        raise NotImplementedError


class _TextEditorBase(FieldEditor):
    """Text in and out: the answer is the text stripped, and empty text is not set."""

    def __init__(
        self, field: Field, widget: QWidget, read: Callable[[], str], write: Callable[[str], None]
    ) -> None:
        self._read, self._write = read, write
        super().__init__(field, widget)

    def value(self) -> object | None:
        return self._read().strip() or None

    def set_value(self, value: object | None) -> None:
        self._write("" if value is None else str(value))


class LineEditor(_TextEditorBase):
    def __init__(self, field: Field) -> None:
        self.edit = QLineEdit()
        if field.max is not None:
            self.edit.setMaxLength(int(field.max))
        super().__init__(field, self.edit, self.edit.text, self.edit.setText)


class TextEditor(_TextEditorBase):
    def __init__(self, field: Field) -> None:
        self.edit = QPlainTextEdit()
        self.edit.setTabChangesFocus(True)  # Tab moves on; it does not insert a tab
        self.edit.setMinimumHeight(64)
        self.edit.setMaximumHeight(96)
        super().__init__(field, self.edit, self.edit.toPlainText, self.edit.setPlainText)


class _SpinEditor(FieldEditor):
    """A spin box within [low, high]. An optional field without a default starts "not set"
    (a sentinel one below the minimum, shown as "—")."""

    def __init__(
        self, field: Field, spin: QSpinBox | QDoubleSpinBox, low: float, high: float
    ) -> None:
        self.spin = spin
        self._nullable = field.default is None
        self._sentinel = low - 1
        self._set_range(self._sentinel if self._nullable else low, high)
        if self._nullable:
            spin.setSpecialValueText(_NOT_SET)
        spin.setMinimumWidth(120)
        super().__init__(field, spin)

    def _set_range(self, low: float, high: float) -> None:
        raise NotImplementedError

    def _show(self, number: float) -> None:
        raise NotImplementedError

    def value(self) -> object | None:
        number = self.spin.value()
        if self._nullable and number <= self._sentinel:
            return None
        return number

    def set_value(self, value: object | None) -> None:
        if value is None or isinstance(value, bool):
            self._show(self._sentinel if self._nullable else self.spin.minimum())
            return
        try:
            self._show(float(str(value)))
        except ValueError:
            _log.warning(
                "ignoring non-%s value %r for field %s", self.field.type, value, self.field.id
            )


class IntegerEditor(_SpinEditor):
    """A QSpinBox (whole numbers, fractions cut off) within the field's min/max."""

    spin: QSpinBox

    def __init__(self, field: Field) -> None:
        spin = QSpinBox()
        spin.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)
        low = _clamp_int(field.min, -_INT_LIMIT)
        super().__init__(field, spin, low, _clamp_int(field.max, _INT_LIMIT))

    def _set_range(self, low: float, high: float) -> None:
        self.spin.setRange(int(low), int(high))

    def _show(self, number: float) -> None:
        self.spin.setValue(int(number))


class NumberEditor(_SpinEditor):
    """A QDoubleSpinBox within the field's min/max, with enough decimals for its values."""

    spin: QDoubleSpinBox

    def __init__(self, field: Field) -> None:
        spin = QDoubleSpinBox()
        spin.setDecimals(_decimals_for(field.default, field.min, field.max))  # before the range
        low = float(field.min) if field.min is not None else -_FLOAT_LIMIT
        high = float(field.max) if field.max is not None else _FLOAT_LIMIT
        super().__init__(field, spin, low, high)

    def _set_range(self, low: float, high: float) -> None:
        self.spin.setRange(low, high)

    def _show(self, number: float) -> None:
        self.spin.setValue(number)


class BooleanEditor(FieldEditor):
    def __init__(self, field: Field) -> None:
        self.box = QCheckBox(field.label or field.id)
        super().__init__(field, self.box)

    def value(self) -> object | None:
        return self.box.isChecked()

    def set_value(self, value: object | None) -> None:
        if isinstance(value, str):
            value = value.strip().lower() in {"1", "true", "yes", "on"}
        self.box.setChecked(bool(value))


class ChoiceEditor(FieldEditor):
    """A combo of the options; without a default it starts on an empty "Choose…" entry."""

    def __init__(self, field: Field) -> None:
        self.combo = QComboBox()
        self.combo.addItem(_("Choose…") if field.required else _NOT_SET, None)
        for value, label in question_options(field.options):
            self.combo.addItem(label, value)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        super().__init__(field, self.combo)
        name_combo_parts(self.combo, field.label or field.id)

    def value(self) -> object | None:
        data = self.combo.currentData()
        return None if data is None else data

    def set_value(self, value: object | None) -> None:
        index = self.combo.findData(value) if value is not None else 0
        self.combo.setCurrentIndex(max(0, index))


class _BlankableDateEdit(QDateEdit):
    """A date edit whose calendar opens on today while the date is still blank."""

    def __init__(self, blank: QDate) -> None:
        super().__init__()
        self._blank = blank

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        super().mousePressEvent(event)
        if self.date() == self._blank:
            today = QDate.currentDate()
            self.calendarWidget().setCurrentPage(today.year(), today.month())


class DateEditor(FieldEditor):
    """A QDateEdit with a calendar popup; "not set" is its blank minimum date."""

    _BLANK = QDate(1900, 1, 1)

    def __init__(self, field: Field) -> None:
        self.edit = _BlankableDateEdit(self._BLANK)
        self.edit.setCalendarPopup(True)
        self.edit.setDisplayFormat("yyyy-MM-dd")
        self.edit.setMinimumDate(self._BLANK)
        self.edit.setSpecialValueText(" ")  # the blank minimum reads as empty
        self.edit.setMinimumWidth(130)
        super().__init__(field, self.edit)

    def value(self) -> object | None:
        date = self.edit.date()
        if date == self._BLANK:
            return None
        return date.toString("yyyy-MM-dd")

    def set_value(self, value: object | None) -> None:
        date = QDate.fromString(str(value), "yyyy-MM-dd") if value else QDate()
        self.edit.setDate(date if date.isValid() else self._BLANK)


_EDITORS: dict[str, Callable[[Field], FieldEditor]] = {
    "string": LineEditor,
    "text": TextEditor,
    "integer": IntegerEditor,
    "number": NumberEditor,
    "boolean": BooleanEditor,
    "choice": ChoiceEditor,
    "date": DateEditor,
}


def make_editor(field: Field) -> FieldEditor:
    """The editor for the field's type; unknown types get a plain line edit."""
    return _EDITORS.get(field.type, LineEditor)(field)


def _clamp_int(value: object, fallback: int) -> int:
    if value is None or isinstance(value, bool):
        return fallback
    try:
        number = int(float(str(value)))
    except ValueError:
        return fallback
    return max(-_INT_LIMIT, min(_INT_LIMIT, number))


def _decimals_for(*values: object) -> int:
    decimals = 2
    for value in values:
        if isinstance(value, float):
            text = repr(value)
            if "." in text and "e" not in text:
                decimals = max(decimals, len(text.split(".", 1)[1]))
    return min(decimals, 6)


def connect_edited(editor: FieldEditor, signal_edited: Callable[[], None]) -> None:
    def emit(*_args: object) -> None:
        signal_edited()

    widget = editor.widget
    if isinstance(widget, QLineEdit):
        widget.textEdited.connect(emit)
    elif isinstance(widget, QPlainTextEdit):
        widget.textChanged.connect(emit)
    elif isinstance(widget, QSpinBox | QDoubleSpinBox):
        widget.valueChanged.connect(emit)
    elif isinstance(widget, QCheckBox):
        widget.toggled.connect(emit)
    elif isinstance(widget, QComboBox):
        widget.currentIndexChanged.connect(emit)
    elif isinstance(widget, QDateEdit):
        widget.dateChanged.connect(emit)


def name_combo_parts(combo: QComboBox, name: str) -> None:
    """Name the popup list (and the line edit of an editable combo) after the field."""
    # Translators: what a screen reader calls a field's open list; {name} is the field.
    combo.view().setAccessibleName(_("{name}: choices").format(name=name))
    line = combo.lineEdit()
    if line is not None:
        line.setAccessibleName(name)
