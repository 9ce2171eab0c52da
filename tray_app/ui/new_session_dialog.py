"""The "New project…" and "New run…" dialogs: a request form (equipment, project,
template, label, operator, objective, run kind, template variables) that asks
the controller to create the session and shows its validation errors inline.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from tray_app.config import Settings
from tray_app.creation.requests import CreateRequest
from tray_app.creation.seam import CreationSeam
from tray_app.creation.template_fields import choice_value, fields_from_questions
from tray_app.creation.templates import Question, TemplateInfo
from tray_app.creation.validation import RESERVED_VARIABLES, TEXT_RULES
from tray_app.i18n import _, ngettext
from tray_app.ui.async_bridge import error_message, run_async
from tray_app.ui.dialog_parts import add_button, add_main_button, column
from tray_app.ui.field_editors import name_combo_parts
from tray_app.ui.field_widgets import HINT_STYLE, FieldCell, FieldForm, error_label
from tray_app.ui.keyboard import MnemonicPicker, mnemonic_letters
from tray_app.ui.new_session_request import (
    DEFAULT_TEMPLATE,
    KINDS,
    RUN_KINDS,
    FormAnswers,
    list_project_folders,
    refused_inputs,
    request_from,
)
from tray_app.ui.ui_memory import ui_state

_log = logging.getLogger(__name__)

OPERATOR_KEY = "new_session/operator"
EQUIPMENT_KEY = "new_session/equipment"


class NewSessionDialog(QDialog):
    """Ask for a new project or run; on success the session exists and the dialog closes."""

    #: The handle of the session that was created.
    created = Signal(dict)

    def __init__(
        self,
        kind: str,
        controller: CreationSeam,
        settings: Settings,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        # Alt+R creates, Alt+C cancels (in English; each language marks its own letters in
        # the buttons' words); each row's label takes a letter of its own.
        self._mnemonics = MnemonicPicker(mnemonic_letters(_("C&reate"), _("&Cancel")))
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        self.kind = kind
        self.controller = controller
        self.settings = settings
        self._busy = False
        self._templates: dict[str, TemplateInfo] = {}
        self._questions: dict[str, Question] = {}
        self.errors: dict[str, QLabel] = {}
        self.hints: dict[str, QLabel] = {}
        self.setObjectName(f"new_{kind}_dialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(_("New project") if kind == "project" else _("New run"))
        self.setMinimumWidth(500)
        memory = ui_state()

        self.heading = QLabel(
            _("Create a project folder for an instrument.")
            if kind == "project"
            else _("Create a run folder inside an existing project.")
        )
        self.heading.setWordWrap(True)
        self.heading.setStyleSheet(HINT_STYLE)
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.form.setVerticalSpacing(8)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)

        self.equipment = QComboBox()
        for equipment in settings.equipment:
            self.equipment.addItem(f"{equipment.id} — {equipment.name}", equipment.id)
        remembered = self.equipment.findData(memory.value(EQUIPMENT_KEY))
        if remembered >= 0:
            self.equipment.setCurrentIndex(remembered)
        self._add_row("equipment_id", _("Equipment"), self.equipment, required=True, compact=True)

        self.project: QComboBox | QLineEdit
        if kind == "run":
            combo = QComboBox()
            combo.setEditable(True)
            combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
            line = combo.lineEdit()
            if line is not None:
                line.setPlaceholderText(_("Choose or type a project"))
            self.project = combo
        else:
            self.project = QLineEdit()
            self.project.setPlaceholderText(_("e.g. Protein_Stability_2026"))
        self._add_row(
            "project_name",
            _("Project"),
            self.project,
            required=True,
            hint=(
                _("Looking for projects…")
                if kind == "run"
                else _("Becomes the folder name: letters, digits, - and _.")
            ),
        )

        self.run_kind = QComboBox()
        for value, text in RUN_KINDS:
            self.run_kind.addItem(_(text), value)
        if kind == "run":
            self._add_row(
                "run_kind",
                _("Run kind"),
                self.run_kind,
                hint=_("Test runs go under TestRuns/ instead of Runs/."),
                compact=True,
            )

        self.template = QComboBox()
        self._add_row("template", _("Template"), self.template, required=True, compact=True)

        self.label = QLineEdit()
        self.label.setPlaceholderText(_("Short name, e.g. Plate 3 replicate"))
        self.label.setMaxLength(TEXT_RULES["label"].max_length)
        self._add_row("label", _("Label"), self.label, required=kind == "run")

        self.operator: QComboBox | QLineEdit
        last_operator = str(memory.value(OPERATOR_KEY) or "")
        if settings.operators:
            operator_combo = QComboBox()
            operator_combo.addItem(_("Choose…"), None)
            for name in settings.operators:
                operator_combo.addItem(name, name)
            operator_combo.setCurrentIndex(max(0, operator_combo.findData(last_operator)))
            self.operator = operator_combo
        else:
            self.operator = QLineEdit(last_operator)
            self.operator.setMaxLength(TEXT_RULES["operator"].max_length)
            self.operator.setPlaceholderText(_("Your name or initials"))
        self._add_row("operator", _("Operator"), self.operator, required=True)

        self.objective = QPlainTextEdit()
        self.objective.setTabChangesFocus(True)
        self.objective.setPlaceholderText(_("What is this for? (optional)"))
        self.objective.setFixedHeight(64)
        self._add_row("objective", _("Objective"), self.objective)

        self.variables_box = QGroupBox(_("Template variables"))
        self.variables_box.setObjectName("variables_box")
        self.variables_layout = QVBoxLayout(self.variables_box)
        self.variables_error = error_label("error_variables")
        self.variables = FieldForm([])
        self.variables_layout.addWidget(self.variables)
        self.variables_layout.addWidget(self.variables_error)

        self.general_error = error_label("error_general")

        self.buttons = QDialogButtonBox()
        self.create_button = add_main_button(
            self, self.buttons, _("C&reate"), "create", self.submit
        )
        self.cancel_button = add_button(
            self.buttons,
            _("&Cancel"),
            "cancel",
            QDialogButtonBox.ButtonRole.RejectRole,
            self.reject,
        )
        column(
            self,
            *(self.heading, self.form, self.variables_box, self.general_error, self.buttons),
            spacing=10,
        )

        self.equipment.currentIndexChanged.connect(self._equipment_changed)
        self.run_kind.currentIndexChanged.connect(self._load_templates)
        self.template.currentIndexChanged.connect(self._template_changed)
        self._load_templates()
        self._equipment_changed()
        self.project.setFocus()

    # ---- building ----------------------------------------------------------------------------
    def _add_row(
        self,
        key: str,
        text: str,
        widget: QWidget,
        *,
        required: bool = False,
        hint: str | None = None,
        compact: bool = False,
    ) -> None:
        widget.setObjectName(f"field_{key}")
        widget.setAccessibleName(text)
        if isinstance(widget, QComboBox):
            name_combo_parts(widget, text)
        cell = FieldCell(key, widget, hint=hint, compact=compact)
        if cell.hint is not None:
            self.hints[key] = cell.hint
        self.errors[key] = cell.error
        marked = self._mnemonics.mark(text)
        label = QLabel(f"{marked} *" if required else marked)
        label.setBuddy(widget)
        self.form.addRow(label, cell)

    def template_kind(self) -> str:
        """``project``, ``run`` or ``test-run``: which templates fit the current choices."""
        if self.kind == "project":
            return "project"
        return "test-run" if self.run_kind.currentData() == "test" else "run"

    def _load_templates(self) -> None:
        wanted = self.template_kind()
        try:
            templates = list(self.controller.templates(wanted))
        except Exception:
            _log.exception("listing %s templates failed", wanted)
            templates = []
        self._templates = {t.name: t for t in templates}
        default = DEFAULT_TEMPLATE["test" if wanted == "test-run" else self.kind]
        self.template.blockSignals(True)
        self.template.clear()
        for template in templates:
            title = template.title or template.name
            text = title if title == template.name else f"{title} ({template.name})"
            self.template.addItem(text, template.name)
        self.template.setCurrentIndex(max(0, self.template.findData(default)))
        self.template.blockSignals(False)
        if not templates:
            self._show_error(
                "template", _("No {kind} templates are installed.").format(kind=wanted)
            )
        self._template_changed()

    def _template_changed(self) -> None:
        template = self._templates.get(self.template.currentData() or "")
        questions = template.questions if template is not None else []
        self._questions = {q.name: q for q in questions}
        fields = fields_from_questions(questions, skip=RESERVED_VARIABLES)
        form = FieldForm(fields, reserved=self._mnemonics.used)
        self.variables_layout.replaceWidget(self.variables, form)
        self.variables.deleteLater()
        self.variables = form
        # The new form's fields come after Objective and before the buttons when tabbing.
        previous: QWidget = self.objective
        for editor in form.editors.values():
            QWidget.setTabOrder(previous, editor.widget)
            previous = editor.widget
        QWidget.setTabOrder(previous, self.create_button)
        QWidget.setTabOrder(self.create_button, self.cancel_button)
        self.variables_box.setVisible(bool(fields))
        self.variables_error.hide()
        self.adjustSize()

    def _equipment_changed(self) -> None:
        if not isinstance(self.project, QComboBox):
            return
        equipment_id = self.equipment.currentData()
        if not equipment_id:
            return
        root = Path(self.settings.local_root).expanduser()
        run_async(
            asyncio.to_thread(list_project_folders, root, str(equipment_id)),
            on_result=self._set_projects,
            owner=self,
            what="listing project folders",
        )

    def _set_projects(self, names: list[str]) -> None:
        if not isinstance(self.project, QComboBox):
            return
        typed = self.project.currentText()
        self.project.clear()
        self.project.addItems(names)
        self.project.setEditText(typed or (names[0] if len(names) == 1 else ""))
        equipment = self.equipment.currentData()
        if names:
            words = ngettext(
                "{n} project on {equipment}; a run goes into an existing project.",
                "{n} projects on {equipment}; a run goes into an existing project.",
                len(names),
            ).format(n=len(names), equipment=equipment)
        else:
            words = _("No projects on {equipment} yet: create one with New project… first.").format(
                equipment=equipment
            )
        self.hints["project_name"].setText(words)

    # ---- reading ------------------------------------------------------------------------------
    def _project_text(self) -> str:
        return (
            self.project.currentText().strip()
            if isinstance(self.project, QComboBox)
            else (self.project.text().strip())
        )

    def _operator_text(self) -> str:
        if isinstance(self.operator, QComboBox):
            return str(self.operator.currentData() or "")
        return self.operator.text().strip()

    def _variables(self) -> dict[str, Any]:
        """The variables as the form has them, choices back to their template values.

        Not checked here: the controller checks them with the prompt's validator and
        its refusals come back as errors on ``variables.<name>``.
        """
        return {
            name: choice_value(self._questions[name], value) if name in self._questions else value
            for name, value in self.variables.values().items()
        }

    def build_request(self) -> tuple[CreateRequest | None, dict[str, str]]:
        """The request from the form, or the problems found before asking the controller."""
        return request_from(
            FormAnswers(
                kind=self.kind,
                equipment_id=str(self.equipment.currentData() or ""),
                project_name=self._project_text(),
                operator=self._operator_text(),
                label=self.label.text().strip(),
                template=str(self.template.currentData() or ""),
                objective=self.objective.toPlainText().strip(),
                run_kind=self.run_kind.currentData(),
                variables=self._variables(),
            )
        )

    # ---- creating -----------------------------------------------------------------------------
    def submit(self) -> None:
        if self._busy:
            return
        self.clear_errors()
        request, problems = self.build_request()
        if request is None:
            self.show_errors(problems)
            return
        self._set_busy(True)
        run_async(
            self.controller.create(request),
            on_result=self._created,
            on_error=self._failed,
            owner=self,
            what=f"creating a {self.kind}",
        )

    def _created(self, handle: dict[str, Any]) -> None:
        self._set_busy(False)
        memory = ui_state()
        memory.setValue(OPERATOR_KEY, self._operator_text())
        memory.setValue(EQUIPMENT_KEY, self.equipment.currentData())
        memory.sync()
        self.created.emit(handle)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        problems = refused_inputs(error)
        if problems is not None:
            self.show_errors(problems)
            return
        what = _("Could not create the project: {error}")
        if self.kind != "project":
            what = _("Could not create the run: {error}")
        self._show_general(what.format(error=error_message(error)))

    # ---- errors -------------------------------------------------------------------------------
    def show_errors(self, problems: dict[str, str]) -> None:
        """Put each message next to its input; what matches no input goes at the bottom."""
        leftover: list[str] = []
        variable_errors: dict[str, str] = {}
        focus: QWidget | None = None
        for key, message in problems.items():
            if key in self.errors:
                self._show_error(key, message)
                focus = focus or self.findChild(QWidget, f"field_{key}")
            elif key.startswith("variables.") and key[len("variables.") :] in (
                self.variables.editors
            ):
                variable_errors[key[len("variables.") :]] = message
            elif key == "variables" or key.startswith("variables."):
                self.variables_error.setText(message)
                self.variables_error.show()
                self.variables_box.show()
            else:
                leftover.append(message)
        if variable_errors:
            self.variables.show_errors(variable_errors)
        if leftover:
            self._show_general(" ".join(leftover))
        if focus is not None:
            focus.setFocus()

    def error_text(self, key: str) -> str:
        if key.startswith("variables.") and key != "variables":
            return self.variables.error_text(key[len("variables.") :])
        label = self.errors.get(key) or (self.variables_error if key == "variables" else None)
        return label.text() if label is not None and not label.isHidden() else ""

    def _show_error(self, key: str, message: str) -> None:
        label = self.errors[key]
        label.setText(message)
        label.show()

    def _show_general(self, message: str) -> None:
        self.general_error.setText(message)
        self.general_error.show()

    def clear_errors(self) -> None:
        for label in self.errors.values():
            label.hide()
        self.variables.clear_errors()
        self.variables_error.hide()
        self.general_error.hide()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.create_button.setEnabled(not busy)
        self.create_button.setText(_("Creating…") if busy else _("C&reate"))
        for widget in (self.equipment, self.project, self.template, self.label, self.operator):
            widget.setEnabled(not busy)
