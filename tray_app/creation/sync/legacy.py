"""The one-time import of the old ``state/sync-queue.json`` into the SQLite queue.

A truncated or damaged file is salvaged job by job (each job was one flat JSON
object), so folders it listed are not forgotten; the file is then renamed, not
deleted, for the record.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import msgspec

from tray_app.creation.sync.model import JobStatus, SyncJob, Transport

__all__ = ["LEGACY_NAME", "read_legacy"]

LEGACY_NAME = "sync-queue.json"
_FLAT_OBJECT = re.compile(rb"\{[^{}]*\}")


class _OldJob(msgspec.Struct):
    id: str
    source: str
    target: str
    status: str
    queued_at: str
    session_id: str | None = None
    finished_at: str | None = None
    error: str | None = None


class _OldState(msgspec.Struct):
    jobs: list[_OldJob]


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _convert(old: _OldJob, default_root: Path | None, now: datetime) -> SyncJob:
    target = Path(old.target)
    if default_root is not None and target.is_relative_to(default_root):
        root, relative = default_root, target.relative_to(default_root).as_posix()
    else:
        root, relative = target.parent, target.name
    synced = old.status == "synced"
    return SyncJob(
        id=old.id,
        source=old.source,
        root=str(root),
        relative=str(PurePosixPath(relative)),
        transport=Transport.COPY,
        session_id=old.session_id,
        # Failed jobs of the old queue were never tried again: they are due now.
        status=JobStatus.SYNCED if synced else JobStatus.QUEUED,
        queued_at=_when(old.queued_at) or now,
        finished_at=_when(old.finished_at) if synced else None,
    )


def read_legacy(
    path: Path, default_root: Path | None, now: datetime
) -> tuple[list[SyncJob], str | None]:
    """The old file's jobs, and a sentence when it had to be salvaged."""
    data = path.read_bytes()
    try:
        old_jobs = msgspec.json.decode(data, type=_OldState).jobs
        problem = None
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        old_jobs = []
        for match in _FLAT_OBJECT.finditer(data):
            try:
                old_jobs.append(msgspec.json.decode(match.group(), type=_OldJob))
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
        problem = (
            f"The old sync queue {path.name} was damaged ({exc}); "
            f"{len(old_jobs)} job(s) were recovered from it."
        )
    return [_convert(job, default_root, now) for job in old_jobs], problem
