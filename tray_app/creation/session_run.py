"""What one session's pipeline run knows and carries from step to step, and the two ways
a run ends early: a structured failure, or an abort (cancel, shutdown)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tray_app.creation.prompt import Prompt
from tray_app.creation.record import PluginRecord
from tray_app.creation.requests import CreateRequest
from tray_app.creation.templates import TemplateInfo

__all__ = ["Abort", "PipelineFailure", "SessionRun", "Waiting"]


class PipelineFailure(Exception):
    """Ends a pipeline in FAILED with a structured error."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


@dataclass
class Abort:
    """Why a run was cancelled, and whether its folder goes too."""

    code: str
    message: str
    discard_files: bool = False

    def outcome(self, path: str | None) -> dict[str, Any]:
        """The ABORTED session's outcome (the ``aborted`` frame's reason)."""
        return {
            "code": self.code,
            "message": self.message,
            "discard_files": self.discard_files,
            "path": path,
        }


@dataclass
class Waiting:
    """The prompt a session is waiting on, and the answers that resume it."""

    prompt: Prompt
    answers: dict[str, Any] | None = None


@dataclass
class SessionRun:
    """Everything the pipeline of one session knows."""

    session_id: str
    request: CreateRequest
    #: The request as plain JSON data (the session's ``request`` and the record's).
    request_data: dict[str, Any]
    destination: Path | None
    #: False when another live session holds the destination (a validation error).
    reserved: bool
    created_at: datetime
    #: Resolved once validation is over: create() answers then.
    validated: asyncio.Future[None]
    template: TemplateInfo | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    #: What each of the template's plugins declares, read once per request (refusal and
    #: validation both check the variables against it).
    plugin_variables: dict[str, dict[str, str]] | None = None
    #: The destination folder exists because this run made it.
    claimed: bool = False
    render_job: asyncio.Future[None] | None = None
    plugins: list[PluginRecord] = field(default_factory=list)
    #: Merged answers per plugin, for the record.
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    waiting: Waiting | None = None
    abort: Abort | None = None
    findings: list[str] = field(default_factory=list)
    #: creation.json is (or may be) on disk: removed again if the run fails after all.
    record_written: bool = False

    @property
    def path(self) -> str | None:
        """The folder to name in an outcome: only once this run has made it."""
        return str(self.destination) if self.claimed and self.destination else None
