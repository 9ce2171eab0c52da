"""The form for prompt fields (DESIGN §4): each field's editor (``field_editors.py``) in a
row with its required mark, muted hint and error line.

Used by the prompt dialog (plugin fields) and the new-session dialog (template
variables, turned into fields in ``creation/template_fields.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from tray_app.creation.fields import Field
from tray_app.i18n import _
from tray_app.ui.field_editors import (
    BooleanEditor,
    FieldEditor,
    LineEditor,
    TextEditor,
    connect_edited,
    make_editor,
)
from tray_app.ui.keyboard import MnemonicPicker

ERROR_TEXT_STYLE = "color: #b3261e;"
HINT_STYLE = "color: palette(placeholder-text);"


def error_label(object_name: str) -> QLabel:
    """A hidden, word-wrapping error line in the error colour."""
    label = QLabel()
    label.setObjectName(object_name)
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_TEXT_STYLE)
    label.hide()
    return label


def hint_label(text: str, object_name: str) -> QLabel:
    """A muted, word-wrapping hint under an input."""
    label = QLabel(text)
    label.setObjectName(object_name)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    label.setStyleSheet(HINT_STYLE)
    return label


class FieldCell(QWidget):
    """The field column of one form row: the input, its hint (if any) and its error line.

    Object names are ``hint_<key>`` and ``error_<key>``.
    """

    def __init__(
        self, key: str, editor: QWidget, *, hint: str | None = None, compact: bool = False
    ) -> None:
        super().__init__()
        # The cell spans the field column so hints wrap at its full width; compact
        # inputs keep their natural width at its left.
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        if compact:
            column.addWidget(editor, 0, Qt.AlignmentFlag.AlignLeft)
        else:
            column.addWidget(editor)
        self.hint: QLabel | None = None
        if hint:
            self.hint = hint_label(hint, f"hint_{key}")
            column.addWidget(self.hint)
        self.error = error_label(f"error_{key}")
        column.addWidget(self.error)


class FieldForm(QWidget):
    """A form of field editors, each with its label (``*`` when required), a muted hint
    and an error line shown by :meth:`show_errors`."""

    edited = Signal()

    def __init__(
        self,
        fields: Iterable[Field],
        parent: QWidget | None = None,
        *,
        reserved: Iterable[str] = (),
    ) -> None:
        """``reserved``: mnemonic letters the surrounding window uses (its buttons)."""
        super().__init__(parent)
        self.fields = list(fields)
        self._mnemonics = MnemonicPicker(reserved)
        self.editors: dict[str, FieldEditor] = {}
        self._errors: dict[str, QLabel] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self._layout = QFormLayout()
        outer.addLayout(self._layout)
        outer.addStretch(1)  # extra height goes below the form, not between its rows
        self._layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self._layout.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self._layout.setVerticalSpacing(10)
        for field in self.fields:
            self._add_row(field)

    def _add_row(self, field: Field) -> None:
        editor = make_editor(field)
        self.editors[field.id] = editor
        # Numbers, dates and choices keep their natural width; text editors grow.
        compact = not isinstance(editor, LineEditor | TextEditor)
        cell = FieldCell(field.id, editor.widget, hint=field.hint, compact=compact)
        cell.error.setAccessibleName(
            _("Problem with {field}").format(field=field.label or field.id)
        )
        self._errors[field.id] = cell.error
        text = field.label or field.id
        # Each label gets an Alt+letter mnemonic that moves the focus to its field.
        if isinstance(editor, BooleanEditor):
            # The check box carries its own label; the form label only marks required.
            editor.box.setText(self._mnemonics.mark(text))
            label = QLabel("*" if field.required else "")
        else:
            marked = self._mnemonics.mark(text)
            label = QLabel(f"{marked} *" if field.required else marked)
            label.setBuddy(editor.widget)
        label.setObjectName(f"label_{field.id}")
        if field.required:
            label.setToolTip(_("Required"))
        self._layout.addRow(label, cell)
        connect_edited(editor, self.edited.emit)

    def values(self) -> dict[str, Any]:
        """The answers given: one entry per field that is not left empty."""
        answers: dict[str, Any] = {}
        for field_id, editor in self.editors.items():
            value = editor.value()
            if value is not None:
                answers[field_id] = value
        return answers

    def show_errors(self, errors: dict[str, str]) -> dict[str, str]:
        """Show each message under its field; returns the ones that match no field."""
        self.clear_errors()
        unmatched: dict[str, str] = {}
        first: QWidget | None = None
        for field_id, message in errors.items():
            label = self._errors.get(field_id)
            if label is None:
                unmatched[field_id] = message
                continue
            label.setText(message[:1].upper() + message[1:])
            label.show()
            if first is None:
                first = self.editors[field_id].widget
        if first is not None:
            first.setFocus(Qt.FocusReason.OtherFocusReason)
        return unmatched

    def error_text(self, field_id: str) -> str:
        label = self._errors.get(field_id)
        return label.text() if label is not None and not label.isHidden() else ""

    def clear_errors(self) -> None:
        for label in self._errors.values():
            label.clear()
            label.hide()

    def focus_first(self) -> None:
        for editor in self.editors.values():
            editor.widget.setFocus(Qt.FocusReason.OtherFocusReason)
            return

    def first_widget(self) -> QWidget | None:
        for editor in self.editors.values():
            return editor.widget
        return None

    def last_widget(self) -> QWidget | None:
        widget = None
        for editor in self.editors.values():
            widget = editor.widget
        return widget
