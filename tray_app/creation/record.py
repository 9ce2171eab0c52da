"""The creation record ``.exlab-wizard/creation.json``: who created what, when, and how.

A msgspec schema, written atomically, so other tools (and a later audit) can
trust what they read.
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from tray_app import __version__ as app_version
from tray_app import fileio
from tray_app.config import Settings
from tray_app.creation.requests import ProjectRequest
from tray_app.sessions.session import iso_z

if TYPE_CHECKING:
    from tray_app.creation.session_run import SessionRun

__all__ = [
    "RECORD_DIR",
    "RECORD_NAME",
    "CreationRecord",
    "PathsRecord",
    "PluginRecord",
    "SyncRecord",
    "TemplateRecord",
    "build_record",
    "read_record",
    "record_path",
    "valid_record",
    "write_record",
]

RECORD_DIR = ".exlab-wizard"
RECORD_NAME = "creation.json"
SCHEMA_VERSION = 1


class TemplateRecord(msgspec.Struct, kw_only=True):
    name: str
    version: str | None
    kind: str
    path: str


class PluginRecord(msgspec.Struct, kw_only=True):
    """One plugin's part in the creation: its final status and what it cost."""

    name: str
    version: str | None
    #: ok | input_required | error | crashed | timeout | bad_output | output_too_large |
    #: escaped | missing
    status: str
    message: str = ""
    runs: int = 0
    prompts: int = 0
    duration_s: float = 0.0
    files: list[str] = msgspec.field(default_factory=list)


class PathsRecord(msgspec.Struct, kw_only=True):
    destination: str
    local_root: str
    #: Destination relative to local_root, with "/" separators (its NAS path too).
    relative: str
    project: str


class SyncRecord(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Where the folder's NAS copy stands (``sync_status`` says it in one word)."""

    target: str
    transport: str
    attempts: int = 0
    synced_at: str | None = None
    files: int | None = None
    bytes: int | None = None
    #: Why it is waiting or failed: a stable code and a sentence.
    reason_code: str | None = None
    reason: str | None = None
    next_attempt_at: str | None = None


class CreationRecord(msgspec.Struct, kw_only=True):
    schema_version: int = SCHEMA_VERSION
    session_id: str
    kind: str
    request: dict[str, Any]
    template: TemplateRecord
    variables: dict[str, Any]
    answers: dict[str, dict[str, Any]]
    plugins: list[PluginRecord]
    paths: PathsRecord
    #: queued | copying | synced | waiting | failed | not_configured |
    #: blocked_by_validation | queue_failed
    sync_status: str
    created_by: str
    created_at: str
    host: str
    app_version: str
    warnings: list[str] = msgspec.field(default_factory=list)
    findings: list[str] = msgspec.field(default_factory=list)
    sync: SyncRecord | None = None


def build_record(
    run: SessionRun, settings: Settings, sync_status: str, warnings: list[str]
) -> CreationRecord:
    """The record of a run that has rendered its folder and run its plugins."""
    assert run.template is not None and run.destination is not None
    local_root = settings.local_root_path()
    # A run's folder is <project>/Runs/Run_<stamp>: its project is two levels up.
    project = (
        run.destination
        if isinstance(run.request, ProjectRequest)
        else run.destination.parent.parent
    )
    return CreationRecord(
        session_id=run.session_id,
        kind=run.variables.get("exlab_kind", "run"),
        request=run.request_data,
        template=TemplateRecord(
            name=run.template.name,
            version=run.template.version,
            kind=run.template.kind,
            path=str(run.template.path),
        ),
        variables=run.variables,
        answers=run.answers,
        plugins=list(run.plugins),
        paths=PathsRecord(
            destination=str(run.destination),
            local_root=str(local_root),
            relative=relative_to(run.destination, local_root),
            project=str(project),
        ),
        sync_status=sync_status,
        created_by=run.request.operator,
        created_at=iso_z(run.created_at),
        host=platform.node(),
        app_version=app_version,
        warnings=list(warnings),
        findings=list(run.findings),
    )


def relative_to(path: Path, root: Path) -> str:
    """``path`` below ``root`` with "/" separators (its NAS path too); else its name."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def record_path(destination: Path) -> Path:
    return destination / RECORD_DIR / RECORD_NAME


_encoder = msgspec.json.Encoder()


def write_record(destination: Path, record: CreationRecord) -> Path:
    """Write (or replace) the record atomically; returns its path."""
    path = record_path(destination)
    fileio.atomic_write_bytes(path, msgspec.json.format(_encoder.encode(record), indent=2) + b"\n")
    return path


def read_record(destination: Path) -> CreationRecord:
    """Read a record back; raises msgspec errors or OSError when missing or malformed."""
    return msgspec.json.decode(record_path(destination).read_bytes(), type=CreationRecord)


def valid_record(destination: Path) -> CreationRecord | None:
    """The folder's record if it holds a valid one (it is complete), else None.

    Blocking: run it in a thread. Missing, unreadable, half-written or of another
    shape are all the same answer here: the folder is not complete.
    """
    try:
        return read_record(destination)
    except (OSError, msgspec.MsgspecError):
        return None
