"""The New project / New run dialog's plain half (no Qt): the form's answers turned into a
``CreateRequest`` with what is missing in words, the controller's refusal turned back
into a message per input, and the project folders a new run can go into."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tray_app.creation.errors import VALIDATION_FAILED, CreationError
from tray_app.creation.requests import CreateRequest, ProjectRequest, RunRequest
from tray_app.i18n import N_, _

__all__ = [
    "DEFAULT_TEMPLATE",
    "KINDS",
    "RUN_KINDS",
    "FormAnswers",
    "list_project_folders",
    "refused_inputs",
    "request_from",
]

KINDS = ("project", "run")
#: The run kinds' words are marked here and translated where the choice is built.
RUN_KINDS = (("experimental", N_("Experimental")), ("test", N_("Test")))
#: The template each kind starts with (a test run has its own).
DEFAULT_TEMPLATE = {"project": "exlab-project", "run": "exlab-run", "test": "exlab-test-run"}


@dataclass(frozen=True)
class FormAnswers:
    """What the form holds, stripped; "" for an input left empty."""

    kind: str
    equipment_id: str
    project_name: str
    operator: str
    label: str
    template: str
    objective: str = ""
    run_kind: Literal["experimental", "test"] = "experimental"
    variables: dict[str, Any] = field(default_factory=dict)


def request_from(answers: FormAnswers) -> tuple[CreateRequest | None, dict[str, str]]:
    """The request, or (None, the problems found before asking the controller)."""
    problems: dict[str, str] = {}
    if not answers.equipment_id:
        problems["equipment_id"] = _("Choose an instrument.")
    if not answers.project_name:
        problems["project_name"] = _("Give the project a name.")
    if not answers.operator:
        problems["operator"] = _("Say who is creating this.")
    if answers.kind == "run" and not answers.label:
        problems["label"] = _("A run needs a label.")
    if not answers.template:
        problems["template"] = _("Choose a template.")
    if problems:
        return None, problems
    common: dict[str, Any] = {
        "equipment_id": answers.equipment_id,
        "project_name": answers.project_name,
        "operator": answers.operator,
        "objective": answers.objective or None,
        "template": answers.template,
        "variables": answers.variables,
    }
    if answers.kind == "project":
        return ProjectRequest(label=answers.label or None, **common), {}
    return RunRequest(label=answers.label, run_kind=answers.run_kind, **common), {}


def refused_inputs(error: BaseException) -> dict[str, str] | None:
    """A validation refusal as a message per input ("" for the request as a whole);
    None for any other error (the dialog says it in one line)."""
    if not isinstance(error, CreationError) or error.code != VALIDATION_FAILED:
        return None
    found = (error.details or {}).get("errors") or []
    problems = {
        str(item.get("field") or ""): str(item.get("message") or "")
        for item in found
        if isinstance(item, dict)
    }
    return problems or {error.field or "": error.message}


def list_project_folders(local_root: Path, equipment_id: str) -> list[str]:
    """Existing project folders under ``<local_root>/<EQUIPMENT>`` (blocking: run in a thread)."""
    folder = local_root / equipment_id
    try:
        return sorted(
            (p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=str.casefold,
        )
    except OSError:
        return []
