"""A sync job as its folder's record and its session's outcome tell it: one shape for both.

``creation.json`` follows the job (rewritten atomically, off the loop), and so
does the finished session's ``result`` (``sync_status`` and ``sync``, the same
:class:`SyncRecord` as the file's): the API, the CLI and the tray read that.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

import msgspec

from tray_app.creation.record import SyncRecord, read_record, record_path, write_record
from tray_app.creation.sync.model import SyncJob
from tray_app.sessions.session import iso_z
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import SessionStore

__all__ = ["follow_job", "outcome_fields", "record_bytes", "sync_record", "update_record"]

_log = logging.getLogger(__name__)
_encoder = msgspec.json.Encoder()


def sync_record(job: SyncJob) -> SyncRecord:
    return SyncRecord(
        target=job.target,
        transport=job.transport.value,
        attempts=job.attempts,
        synced_at=iso_z(job.finished_at) if job.finished_at and job.status == "synced" else None,
        files=job.files,
        bytes=job.bytes,
        reason_code=job.reason.code if job.reason else None,
        reason=job.reason.message if job.reason else None,
        next_attempt_at=iso_z(job.next_attempt_at) if job.next_attempt_at else None,
    )


def outcome_fields(job: SyncJob) -> dict[str, Any]:
    """The keys of a finished session's ``result`` that follow its folder's job."""
    return {"sync_status": job.status.value, "sync": msgspec.to_builtins(sync_record(job))}


class _Jobs(Protocol):
    def for_session(self, session_id: str) -> SyncJob | None: ...


def follow_job(store: SessionStore, jobs: _Jobs, job: SyncJob) -> None:
    """A finished session's result follows its folder's newest sync job (the queue is
    the one source; the store's UPDATED then reaches the API, the journal, the tray)."""
    if job.session_id is None:
        return
    session = store.get(job.session_id)
    if session is None or session.state is not SessionState.DONE or session.result is None:
        return  # not finished yet: the pipeline puts the job's fields into its result
    newest = jobs.for_session(job.session_id)
    if newest is not None and newest.id != job.id:
        return  # an older job of a folder queued again
    fields = outcome_fields(job)
    result = session.result
    if any(result.get(key) != value for key, value in fields.items()):
        store.close(job.session_id, {**result, **fields})


def record_bytes(job: SyncJob) -> bytes | None:
    """The folder's record as it should read for ``job``; None without a readable record."""
    source = Path(job.source)
    try:
        record = read_record(source)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None
    record = msgspec.structs.replace(record, sync_status=job.status.value, sync=sync_record(job))
    return msgspec.json.format(_encoder.encode(record), indent=2) + b"\n"


def update_record(job: SyncJob) -> None:
    """Rewrite the local record with the job's status (a folder without one is left alone)."""
    source = Path(job.source)
    if not record_path(source).is_file():
        return
    try:
        record = read_record(source)
        write_record(
            source,
            msgspec.structs.replace(record, sync_status=job.status.value, sync=sync_record(job)),
        )
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        _log.warning("could not update the sync status in %s: %s", record_path(source), exc)
