"""The queue in one glance: counts, the oldest wait and its reason, in words.

The tray's sync line, ``/health``, ``GET /api/v1/sync`` and ``exlab-tray sync``
all show this one summary.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import msgspec

from tray_app.creation.sync.model import JobStatus, SyncJob

__all__ = ["SyncSummary", "job_words", "summarize"]

_REASON_WORDS = {
    "not_reachable": "not reachable",
    "read_only": "read-only",
    "timeout": "not answering",
    "connection_refused": "refusing connections",
    "io_error": "failing (input/output error)",
    "no_space": "full",
    "checksum_mismatch": "copies did not match",
    "auth_refused": "refusing the login",
    "source_missing": "local folder gone",
    "tool_missing": "program missing",
    "bad_target": "not configured",
}


class SyncSummary(msgspec.Struct, kw_only=True):
    queued: int = 0
    copying: int = 0
    synced: int = 0
    waiting: int = 0
    failed: int = 0
    #: When the longest-waiting folder started waiting (None: nothing waits).
    waiting_since: datetime | None = None
    #: The reason code of the longest wait, or of the newest failure.
    reason_code: str | None = None
    reason: str | None = None
    #: Next scheduled retry.
    next_attempt_at: datetime | None = None
    headline: str = "NAS sync: nothing to do"
    problems: list[str] = msgspec.field(default_factory=list)

    @property
    def pending(self) -> int:
        return self.queued + self.copying + self.waiting

    @property
    def in_trouble(self) -> bool:
        return bool(self.waiting or self.failed)


def _folders(count: int) -> str:
    return "1 folder" if count == 1 else f"{count} folders"


def summarize(jobs: Iterable[SyncJob], problems: list[str] | None = None) -> SyncSummary:
    summary = SyncSummary(problems=list(problems or []))
    waiting: list[SyncJob] = []
    failed: list[SyncJob] = []
    for job in jobs:
        if job.status is JobStatus.QUEUED:
            summary.queued += 1
        elif job.status is JobStatus.COPYING:
            summary.copying += 1
        elif job.status is JobStatus.SYNCED:
            summary.synced += 1
        elif job.status is JobStatus.WAITING:
            summary.waiting += 1
            waiting.append(job)
        else:
            summary.failed += 1
            failed.append(job)
    if waiting:
        oldest = min(waiting, key=lambda j: j.waiting_since or j.queued_at)
        summary.waiting_since = oldest.waiting_since or oldest.queued_at
        summary.next_attempt_at = min(
            (j.next_attempt_at for j in waiting if j.next_attempt_at), default=None
        )
        if oldest.reason:
            summary.reason_code, summary.reason = oldest.reason.code, oldest.reason.message
    elif failed:
        newest = failed[-1]
        if newest.reason:
            summary.reason_code, summary.reason = newest.reason.code, newest.reason.message
    summary.headline = _headline(summary)
    return summary


def _headline(s: SyncSummary) -> str:
    parts = []
    if s.waiting:
        since = s.waiting_since.astimezone().strftime("%H:%M") if s.waiting_since else "?"
        why = _REASON_WORDS.get(s.reason_code or "", "not reachable")
        parts.append(f"{_folders(s.waiting)} waiting for the NAS: {why} since {since}")
    if s.failed:
        why = "" if s.waiting else f" ({_REASON_WORDS.get(s.reason_code or '', 'error')})"
        parts.append(f"{_folders(s.failed)} could not be synced to the NAS{why}")
    if s.copying or s.queued:
        parts.append(f"copying {_folders(s.copying + s.queued)} to the NAS")
    if not parts:
        return (
            f"NAS sync: all {_folders(s.synced)} synced" if s.synced else "NAS sync: nothing to do"
        )
    text = "; ".join(parts)
    return text[0].upper() + text[1:]


def _clock_words(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%H:%M") if moment else "?"


#: A folder's ``sync_status`` when no job was made for it, in words.
_NO_JOB_WORDS = {
    "not_configured": "Not synced: no NAS is set in the settings.",
    "blocked_by_validation": "Not synced: the folder failed the naming check (see Warnings). "
    "Fix it, then choose Queue for NAS sync again.",
    "queue_failed": "Not synced: it could not be queued (see Warnings).",
}


def job_words(job: SyncJob | None, sync_status: str | None = None) -> str:
    """One folder's NAS sync in a sentence (the details dialog, the CLI)."""
    if job is None:
        return _NO_JOB_WORDS.get(sync_status or "", f"Sync: {sync_status}" if sync_status else "")
    reason = job.reason.message if job.reason else ""
    if job.status is JobStatus.SYNCED:
        files = f"{job.files} files" if job.files is not None else "files"
        return f"Synced to {job.target} at {_clock_words(job.finished_at)} ({files}, checked)."
    if job.status is JobStatus.COPYING:
        return f"Copying to {job.target}…"
    if job.status is JobStatus.QUEUED:
        return f"Queued for {job.target}."
    if job.status is JobStatus.WAITING:
        return (
            f"Waiting: {reason} Next try at {_clock_words(job.next_attempt_at)} "
            f"(attempt {job.attempts + 1})."
        )
    return f"Failed: {reason} Choose Retry now once it is fixed."
