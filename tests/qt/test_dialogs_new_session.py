"""The New project / New run dialogs against the real controller and bundled templates:
choices offered, errors inline (before and from the controller), success, remembered operator."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec
import pytest
from PySide6.QtWidgets import QComboBox, QFormLayout, QLineEdit, QSpinBox
from pytestqt.qtbot import QtBot

from tests.qt.dialog_fixtures import is_alive, make_project_folder
from tests.qt.loop_helpers import settle, wait_until
from tray_app.config import Settings
from tray_app.creation.controller import CreationController
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import SessionStore
from tray_app.ui.keyboard import strip_mnemonic
from tray_app.ui.new_session_dialog import NewSessionDialog

pytestmark = pytest.mark.usefixtures("qtbot")


def open_dialog(
    kind: str, controller: Any, settings: Settings, widgets: list[Any]
) -> NewSessionDialog:
    dialog = NewSessionDialog(kind, controller, settings)
    widgets.append(dialog)
    dialog.show()
    return dialog


def created_signal(dialog: NewSessionDialog) -> list[dict[str, Any]]:
    handles: list[dict[str, Any]] = []
    dialog.created.connect(handles.append)
    return handles


def test_run_dialog_offers_equipment_projects_and_templates(
    qloop: asyncio.AbstractEventLoop, controller: Any, settings: Settings, widgets: list[Any]
) -> None:
    make_project_folder(settings, "TECAN", "Beta")
    make_project_folder(settings, "TECAN", "alpha")
    make_project_folder(settings, "HPLC", "Gamma")
    (Path(settings.local_root) / "TECAN" / ".hidden").mkdir()
    dialog = open_dialog("run", controller, settings, widgets)
    assert dialog.windowTitle() == "New run"
    equipment = [dialog.equipment.itemText(i) for i in range(dialog.equipment.count())]
    assert equipment == ["TECAN — Tecan Spark", "HPLC — Agilent 1260"]
    project = dialog.project
    assert isinstance(project, QComboBox) and project.isEditable()
    wait_until(qloop, lambda: project.count() == 2)
    assert [project.itemText(i) for i in range(2)] == ["alpha", "Beta"]
    assert dialog.hints["project_name"].text().startswith("2 projects on TECAN")

    dialog.equipment.setCurrentIndex(1)
    wait_until(qloop, lambda: project.count() == 1 and project.itemText(0) == "Gamma")

    assert dialog.template.currentData() == "exlab-run"
    # The run template's own questions (not the ones ExLab fills in) form the variables.
    assert list(dialog.variables.editors) == ["instrument_method", "replicates"]
    assert isinstance(dialog.variables.editors["replicates"].widget, QSpinBox)

    dialog.run_kind.setCurrentIndex(dialog.run_kind.findData("test"))
    assert dialog.template.currentData() == "exlab-test-run"


def test_missing_inputs_are_marked_before_asking_the_controller(
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    settings: Settings,
    widgets: list[Any],
) -> None:
    dialog = open_dialog("run", controller, settings, widgets)
    wait_until(qloop, lambda: "No projects on TECAN" in dialog.hints["project_name"].text())
    dialog.create_button.click()
    assert dialog.error_text("project_name") == "Give the project a name."
    assert dialog.error_text("label") == "A run needs a label."
    assert dialog.error_text("operator") == "Say who is creating this."
    assert dialog.error_text("equipment_id") == ""
    settle(qloop)
    assert len(store) == 0  # nothing was sent
    assert is_alive(dialog)


def test_controller_validation_errors_land_on_their_fields(
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    settings: Settings,
    widgets: list[Any],
) -> None:
    dialog = open_dialog("run", controller, settings, widgets)
    settle(qloop)
    assert isinstance(dialog.project, QComboBox) and isinstance(dialog.operator, QLineEdit)
    dialog.project.setEditText("Nonexistent")
    dialog.label.setText("Plate 1")
    dialog.operator.setText("ada")
    dialog.create_button.click()
    assert not dialog.create_button.isEnabled()  # in flight

    wait_until(qloop, lambda: bool(dialog.error_text("project_name")))
    assert "does not exist on TECAN" in dialog.error_text("project_name")
    assert dialog.create_button.isEnabled()
    assert is_alive(dialog)
    assert store.sessions() == []  # refused: no failed session behind the dialog


def test_project_name_rules_and_variables_errors_from_the_controller(
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    settings: Settings,
    widgets: list[Any],
) -> None:
    dialog = open_dialog("project", controller, settings, widgets)
    assert isinstance(dialog.project, QLineEdit) and isinstance(dialog.operator, QLineEdit)
    dialog.project.setText("../escape")
    dialog.operator.setText("ada")
    dialog.show_errors({"variables.data_classification": "'secret' is not one of [...]"})
    assert dialog.error_text("variables.data_classification").startswith("'secret'")
    dialog.create_button.click()
    wait_until(qloop, lambda: bool(dialog.error_text("project_name")))
    assert dialog.error_text("project_name").startswith("The project name")
    assert dialog.error_text("variables.data_classification") == ""  # cleared on submit


def test_a_new_project_is_created_and_the_operator_remembered(
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    settings: Settings,
    widgets: list[Any],
) -> None:
    dialog = open_dialog("project", controller, settings, widgets)
    handles = created_signal(dialog)
    assert isinstance(dialog.project, QLineEdit) and isinstance(dialog.operator, QLineEdit)
    dialog.equipment.setCurrentIndex(1)
    dialog.project.setText("Protein_Stability")
    dialog.operator.setText("grace")
    dialog.objective.setPlainText("Thermal shift screen")
    combo = dialog.variables.editors["data_classification"].widget
    assert isinstance(combo, QComboBox)
    combo.setCurrentIndex(combo.findData("confidential"))
    dialog.create_button.click()

    wait_until(qloop, lambda: not is_alive(dialog))
    [handle] = handles
    session = store.get(handle["session_id"])
    assert session is not None
    assert session.request["project_name"] == "Protein_Stability"
    assert session.request["equipment_id"] == "HPLC"
    assert session.request["variables"] == {"data_classification": "confidential"}
    wait_until(qloop, lambda: session.state is SessionState.DONE)
    assert Path(session.destination or "").is_dir()

    again = open_dialog("project", controller, settings, widgets)
    assert isinstance(again.operator, QLineEdit)
    assert again.operator.text() == "grace"
    assert again.equipment.currentData() == "HPLC"


def test_a_new_run_sends_typed_variables(
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    settings: Settings,
    widgets: list[Any],
) -> None:
    make_project_folder(settings, "TECAN", "Alpha")
    dialog = open_dialog("run", controller, settings, widgets)
    handles = created_signal(dialog)
    project = dialog.project
    assert isinstance(project, QComboBox) and isinstance(dialog.operator, QLineEdit)
    wait_until(qloop, lambda: project.currentText() == "Alpha")  # the only project: preselected
    dialog.label.setText("Plate 7")
    dialog.operator.setText("ada")
    replicates = dialog.variables.editors["replicates"].widget
    assert isinstance(replicates, QSpinBox)
    replicates.setValue(3)
    dialog.create_button.click()

    wait_until(qloop, lambda: bool(handles))
    session = store.get(handles[0]["session_id"])
    assert session is not None
    assert session.request["label"] == "Plate 7"
    assert session.request["run_kind"] == "experimental"
    assert session.request["variables"]["replicates"] == 3
    assert isinstance(session.request["variables"]["replicates"], int)
    # The plate_map plugin then asks for input: the tray takes it from here.
    wait_until(qloop, lambda: session.state is SessionState.INPUT_REQUIRED)


def test_operator_allowlist_is_a_combo(
    qloop: asyncio.AbstractEventLoop,
    store: SessionStore,
    settings: Settings,
    widgets: list[Any],
) -> None:
    listed = msgspec.structs.replace(settings, operators=["ada", "grace"])
    controller = CreationController(store, listed)
    dialog = open_dialog("project", controller, listed, widgets)
    assert isinstance(dialog.operator, QComboBox)
    assert [dialog.operator.itemText(i) for i in range(3)] == ["Choose…", "ada", "grace"]
    assert isinstance(dialog.project, QLineEdit)
    dialog.project.setText("P1")
    dialog.create_button.click()
    assert dialog.error_text("operator") == "Say who is creating this."


def test_new_session_dialog_rejects_an_unknown_kind(settings: Settings) -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        NewSessionDialog("experiment", None, settings)


def test_labels_mark_required_inputs(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, controller: Any, settings: Settings
) -> None:
    dialog = NewSessionDialog("run", controller, settings)
    qtbot.addWidget(dialog)
    labels: dict[str, bool] = {}
    for row in range(dialog.form.rowCount()):
        label = dialog.form.itemAt(row, QFormLayout.ItemRole.LabelRole).widget()
        text = strip_mnemonic(label.text())
        labels[text.rstrip(" *")] = text.endswith("*")
    assert labels == {
        "Equipment": True,
        "Project": True,
        "Run kind": False,
        "Template": True,
        "Label": True,
        "Operator": True,
        "Objective": False,
    }
