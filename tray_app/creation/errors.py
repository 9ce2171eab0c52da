"""Errors as values with stable codes, carried to the edge (API, CLI, UI)."""

from __future__ import annotations

from typing import Any


class CreationError(Exception):
    """A refused operation. ``code`` is stable; ``message`` is for a person.

    ``field`` names the offending request field or prompt field; ``details``
    carries structured extras, e.g. ``{"fields": {field_id: message}}`` for
    ``invalid_answers``.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            data["field"] = self.field
        if self.details is not None:
            data["details"] = self.details
        return data


# Stable codes used across layers.
SESSION_NOT_FOUND = "session_not_found"
SESSION_ALREADY_COMPLETED = "session_already_completed"
NOT_AWAITING_INPUT = "not_awaiting_input"
INVALID_ANSWERS = "invalid_answers"
VALIDATION_FAILED = "validation_failed"
SHUTTING_DOWN = "shutting_down"
SYNC_JOB_NOT_FOUND = "sync_job_not_found"
SYNC_NOT_CONFIGURED = "sync_not_configured"
JOURNAL_UNAVAILABLE = "journal_unavailable"
SESSION_STILL_RUNNING = "session_still_running"
NOTHING_TO_DISCARD = "nothing_to_discard"
FOLDER_COMPLETE = "folder_complete"
# File-system failures (creation/disk_errors.py): a FAILED session's error code, and
# what removing a folder answers when the disk refuses.
DISK_FULL = "disk_full"
PERMISSION_DENIED = "permission_denied"
READ_ONLY_DISK = "read_only_disk"
NAME_TOO_LONG = "name_too_long"
FOLDER_MISSING = "folder_missing"
DISK_ERROR = "disk_error"
FILE_ERROR = "file_error"
