"""Wire schemas of creation requests (DESIGN §5), shared by the API, the CLI and the UI."""

from __future__ import annotations

from typing import Any, Literal

import msgspec


class ProjectRequest(
    msgspec.Struct, tag="project", tag_field="kind", forbid_unknown_fields=True, kw_only=True
):
    """A new project folder ``<local_root>/<EQUIPMENT>/<Project>/``."""

    equipment_id: str
    project_name: str
    operator: str
    label: str | None = None
    objective: str | None = None
    template: str | None = None
    variables: dict[str, Any] = msgspec.field(default_factory=dict)


class RunRequest(
    msgspec.Struct, tag="run", tag_field="kind", forbid_unknown_fields=True, kw_only=True
):
    """A new run inside an existing project: ``<project>/Runs/Run_<stamp>``."""

    equipment_id: str
    project_name: str
    operator: str
    label: str
    objective: str | None = None
    run_kind: Literal["experimental", "test"] = "experimental"
    template: str | None = None
    variables: dict[str, Any] = msgspec.field(default_factory=dict)


CreateRequest = ProjectRequest | RunRequest


def request_to_dict(request: CreateRequest) -> dict[str, Any]:
    """The request as plain JSON-ready data, ``kind`` included."""
    data: dict[str, Any] = msgspec.to_builtins(request)
    return data
