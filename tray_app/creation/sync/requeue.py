"""Queueing a folder again after post-validation blocked its sync and the operator fixed it.

The folder is checked again first (the same naming and link rules); only a
clean folder is queued, with its record's findings cleared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import msgspec

from tray_app.creation import errors as codes
from tray_app.creation.errors import CreationError
from tray_app.creation.naming import find_unsafe_entries
from tray_app.creation.record import read_record, write_record

__all__ = ["Requeue", "check_again"]


@dataclass(frozen=True)
class Requeue:
    folder: Path
    relative: str
    equipment_id: str | None
    session_id: str


def check_again(folder: Path) -> Requeue:
    """Validate the folder again (blocking); raise ``validation_failed`` while it is unsafe."""
    try:
        record = read_record(folder)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise CreationError(
            codes.VALIDATION_FAILED,
            f"{folder} is not a finished ExLab folder (its creation.json: {exc}).",
        ) from exc
    findings = find_unsafe_entries(folder)
    if findings:
        shown = "; ".join(findings[:3]) + ("; ..." if len(findings) > 3 else "")
        raise CreationError(
            codes.VALIDATION_FAILED,
            f"Still blocked: {len(findings)} problem(s) in the folder: {shown}",
            details={"findings": findings},
        )
    write_record(folder, msgspec.structs.replace(record, findings=[], sync_status="queued"))
    equipment = record.request.get("equipment_id")
    return Requeue(
        folder=folder,
        relative=record.paths.relative,
        equipment_id=equipment if isinstance(equipment, str) else None,
        session_id=record.session_id,
    )
