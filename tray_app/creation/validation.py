"""VALIDATING: checks a creation request field by field and builds the template's answers.

Every problem is a :class:`FieldError` with a stable code and the request
field it concerns, so a dialog can put the message next to the right input.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tray_app.config import Settings
from tray_app.creation.naming import project_name_problem
from tray_app.creation.requests import CreateRequest, ProjectRequest, RunRequest
from tray_app.creation.template_fields import check_template_answers
from tray_app.creation.templates import DEFAULT_TEMPLATES, TemplateCatalog, TemplateInfo
from tray_app.i18n import N_, _

__all__ = [
    "LABEL_MAX",
    "OBJECTIVE_MAX",
    "OPERATOR_MAX",
    "RESERVED_VARIABLES",
    "TEXT_RULES",
    "FieldError",
    "TextRule",
    "check_request",
    "check_variables",
    "standard_variables",
    "template_kind_for",
]

LABEL_MAX = 100
OBJECTIVE_MAX = 2000
OPERATOR_MAX = 100


@dataclass(frozen=True)
class TextRule:
    """The limits of one free-text field of a request, for every front end alike."""

    label: str
    max_length: int
    #: Line breaks and tabs allowed (a description); other control characters never are.
    multiline: bool = False


#: One set of limits for the request's text fields: the API, the CLI and the dialogs all
#: check (and the dialogs size their inputs) from here. The project name has its own,
#: stricter rules (creation/naming.py): it becomes a folder name.
TEXT_RULES: dict[str, TextRule] = {
    "label": TextRule(N_("Label"), LABEL_MAX),
    "operator": TextRule(N_("Operator"), OPERATOR_MAX),
    "objective": TextRule(N_("Objective"), OBJECTIVE_MAX, multiline=True),
}

#: Each text field as a noun inside a sentence ("The label has..."), marked for the
#: catalog and translated where the sentence is made.
_FIELD_NOUNS: dict[str, str] = {
    "label": N_("label"),
    "operator": N_("operator"),
    "objective": N_("objective"),
}

#: Answers the pipeline always supplies; a request may not override them.
RESERVED_VARIABLES = frozenset(
    {
        "exlab_kind",
        "session_id",
        "equipment_id",
        "equipment_name",
        "project_name",
        "operator",
        "label",
        "objective",
        "run_kind",
        "created_at",
        "created_date",
        "folder_name",
    }
)


@dataclass(frozen=True)
class FieldError:
    code: str
    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field, "message": self.message}


def template_kind_for(request: CreateRequest) -> str:
    """``project``, ``run`` or ``test-run``: the template kind a request needs."""
    if isinstance(request, ProjectRequest):
        return "project"
    return "test-run" if request.run_kind == "test" else "run"


def check_request(
    request: CreateRequest, settings: Settings, catalog: TemplateCatalog
) -> tuple[TemplateInfo | None, list[FieldError]]:
    """Checks that need no disk beyond the template catalogue. Returns the template too."""
    errors: list[FieldError] = []
    if settings.find_equipment(request.equipment_id) is None:
        known = ", ".join(e.id for e in settings.equipment)
        errors.append(
            FieldError(
                "unknown_equipment",
                "equipment_id",
                _("Unknown equipment {equipment!r} (known: {known}).").format(
                    equipment=request.equipment_id, known=known
                ),
            )
        )
    problem = project_name_problem(request.project_name)
    if problem:
        errors.append(
            FieldError(
                "unsafe_project_name",
                "project_name",
                _("The project name {problem}.").format(problem=problem),
            )
        )
    label = request.label or ""
    if isinstance(request, RunRequest) and not label.strip():
        errors.append(FieldError("label_required", "label", _("A run needs a label.")))
    for name, rule in TEXT_RULES.items():
        errors.extend(_check_text(name, rule, getattr(request, name, None) or ""))
    errors.extend(_check_operator(request.operator, settings.operators))
    template, template_errors = _check_template(request, catalog)
    errors.extend(template_errors)
    return template, errors


def _check_text(name: str, rule: TextRule, value: str) -> list[FieldError]:
    errors = []
    if len(value) > rule.max_length:
        errors.append(
            FieldError(
                f"{name}_too_long",
                name,
                _("The {field} has {count} characters; at most {limit} are allowed.").format(
                    field=_(_FIELD_NOUNS[name]), count=len(value), limit=rule.max_length
                ),
            )
        )
    allowed = "\n\t" if rule.multiline else ""
    bad = next((c for c in value if _is_control(c) and c not in allowed), None)
    if bad is not None:
        what = (
            _("a line break")
            if bad in "\r\n\u2028\u2029"
            else _("a control character ({char!r})").format(char=bad)
        )
        rest = _("only line breaks and tabs are allowed.") if rule.multiline else _("use one line.")
        errors.append(
            FieldError(
                f"{name}_control_characters",
                name,
                _("The {field} contains {what}; {rest}").format(
                    field=_(_FIELD_NOUNS[name]), what=what, rest=rest
                ),
            )
        )
    return errors


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Zl", "Zp")


def _check_operator(operator: str, allowed: list[str] | None) -> list[FieldError]:
    if not operator.strip():
        return [FieldError("operator_required", "operator", _("Say who is creating this."))]
    if allowed is not None and operator.casefold() not in {a.casefold() for a in allowed}:
        return [
            FieldError(
                "operator_not_allowed",
                "operator",
                _("{operator!r} is not on this workstation's operator list.").format(
                    operator=operator
                ),
            )
        ]
    return []


def _check_template(
    request: CreateRequest, catalog: TemplateCatalog
) -> tuple[TemplateInfo | None, list[FieldError]]:
    wanted = template_kind_for(request)
    name = request.template or DEFAULT_TEMPLATES[wanted]
    template = catalog.get(name)
    if template is None:
        return None, [
            FieldError(
                "unknown_template", "template", _("No template named {name!r}.").format(name=name)
            )
        ]
    request_kind = "project" if isinstance(request, ProjectRequest) else "run"
    template_is_project = template.kind == "project"
    if template_is_project != (request_kind == "project"):
        return None, [
            FieldError(
                "template_kind_mismatch",
                "template",
                (
                    _("{name!r} is a run template; a project needs a project template.")
                    if request_kind == "project"
                    else _("{name!r} is a project template; a run needs a run template.")
                ).format(name=name),
            )
        ]
    if template.unsafe_keys:
        return None, [
            FieldError(
                "unsafe_template",
                "template",
                _("{name!r} uses {keys}, which ExLab never runs.").format(
                    name=name, keys=", ".join(template.unsafe_keys)
                ),
            )
        ]
    return template, []


def standard_variables(
    request: CreateRequest,
    settings: Settings,
    *,
    session_id: str,
    destination: Path,
    created_at: datetime,
) -> dict[str, Any]:
    """The answers every template gets, from the request and the session."""
    equipment = settings.find_equipment(request.equipment_id)
    local = created_at.astimezone()
    return {
        "exlab_kind": template_kind_for(request),
        "session_id": session_id,
        "equipment_id": request.equipment_id,
        "equipment_name": equipment.name if equipment else request.equipment_id,
        "project_name": request.project_name,
        "operator": request.operator,
        "label": request.label or "",
        "objective": request.objective or "",
        "run_kind": request.run_kind if isinstance(request, RunRequest) else "",
        "created_at": local.isoformat(timespec="seconds"),
        "created_date": local.date().isoformat(),
        "folder_name": destination.name,
    }


def check_variables(
    template: TemplateInfo,
    standard: dict[str, Any],
    supplied: dict[str, Any],
    plugin_variables: dict[str, dict[str, str]] | None = None,
) -> tuple[dict[str, Any], list[FieldError]]:
    """Merge request variables over the standard answers; find missing, ill-typed and
    unknown ones.

    A variable is known when it is a question of the template or is declared by one of
    the template's plugins (``plugin_variables``: plugin name -> {variable: "required" or
    "optional"}, from the plugins' manifests).
    """
    errors: list[FieldError] = []
    declared = {
        name: (plugin, need)
        for plugin, names in (plugin_variables or {}).items()
        for name, need in names.items()
    }
    questions = {q.name for q in template.questions}
    for name in sorted(supplied):
        if name in questions or name in declared or name in RESERVED_VARIABLES:
            continue
        known = sorted(questions | declared.keys())
        errors.append(
            FieldError(
                "unknown_variable",
                f"variables.{name}",
                f"{name!r} is not a variable of template {template.name!r}"
                + (f" (it knows: {', '.join(known)})." if known else " (it takes none)."),
            )
        )
    for name, (plugin, need) in sorted(declared.items()):
        if need == "required" and name not in supplied:
            errors.append(
                FieldError(
                    "missing_variables",
                    f"variables.{name}",
                    f"Plugin {plugin!r} needs the variable {name!r}.",
                )
            )
    clashes = sorted(RESERVED_VARIABLES & supplied.keys())
    for name in clashes:
        errors.append(
            FieldError(
                "reserved_variable",
                f"variables.{name}",
                _("{name!r} is set by ExLab from the request; it cannot be a variable.").format(
                    name=name
                ),
            )
        )
    answers = {**supplied, **standard}
    missing = [
        q.name
        for q in template.questions
        if q.name not in answers and not q.has_default and not q.conditional
    ]
    if missing:
        errors.append(
            FieldError(
                "missing_variables",
                "variables",
                _("Template {name!r} needs values for: {names}.").format(
                    name=template.name, names=", ".join(missing)
                ),
            )
        )
    given = {
        name: value
        for name, value in supplied.items()
        if name not in standard and name in questions
    }
    # The prompt's validator, so a variable is refused in the same words as an answer.
    values, problems = check_template_answers(template.questions, given)
    for name, problem in problems.items():
        errors.append(FieldError("invalid_variable", f"variables.{name}", f"{name} {problem}"))
    known_supplied = {k: v for k, v in supplied.items() if k in questions or k in declared}
    return {**known_supplied, **values, **standard}, errors
