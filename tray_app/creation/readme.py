"""A README.md for a new folder, written from the request when the template brought none."""

from __future__ import annotations

from typing import Any

__all__ = ["readme_text"]


def _line(text: str) -> str:
    # Keep user text from breaking the Markdown layout (headings, tables).
    return " ".join(text.split())


def readme_text(variables: dict[str, Any], template: str, plugins: list[tuple[str, str]]) -> str:
    """Markdown describing the folder: what it is, who made it, when, and with what."""
    kind = variables.get("exlab_kind", "run")
    title = {
        "project": f"Project {variables.get('project_name', '')}",
        "run": f"Run {variables.get('folder_name', '')}",
        "test-run": f"Test run {variables.get('folder_name', '')}",
    }.get(kind, str(variables.get("folder_name", "")))
    rows = [
        ("Project", variables.get("project_name", "")),
        (
            "Equipment",
            f"{variables.get('equipment_name', '')} ({variables.get('equipment_id', '')})",
        ),
        ("Operator", variables.get("operator", "")),
        ("Created", variables.get("created_at", "")),
        ("Template", template),
    ]
    if variables.get("label"):
        rows.insert(0, ("Label", variables["label"]))
    lines = [f"# {_line(title)}", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {_line(str(value)).replace('|', '/')} |" for name, value in rows]
    objective = str(variables.get("objective") or "").strip()
    if objective:
        lines += ["", "## Objective", "", objective]
    if plugins:
        lines += ["", "## Plugins", ""]
        lines += [f"- {name}: {status}" for name, status in plugins]
    lines += [
        "",
        "Created by ExLab Tray. The full record is in `.exlab-wizard/creation.json`.",
        "",
    ]
    return "\n".join(lines)
