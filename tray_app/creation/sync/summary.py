"""The queue in one glance: counts, the oldest wait and its reason, in words; and one
folder's sync in a sentence. The one place NAS sync is worded.

The tray's sync line, ``/health``, ``GET /api/v1/sync`` and ``exlab-tray sync``
all show this one summary. A reason's ``message`` (kept on disk, often a program's own
output) stays as it was made; what people read is the words for its stable code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import msgspec

from tray_app.creation.sync.model import JobStatus, SyncJob
from tray_app.i18n import N_, _, ngettext

__all__ = [
    "SyncSummary",
    "headline_of",
    "job_words",
    "reason_words",
    "status_words",
    "summarize",
]

#: A finished session's ``sync_status`` (a job's status, or why there is no job), in a
#: few words (marked here, translated in status_words).
_STATUS_WORDS = {
    "not_configured": N_("off (no NAS set)"),
    "queued": N_("queued"),
    "copying": N_("copying"),
    "synced": N_("synced"),
    "waiting": N_("waiting for the NAS"),
    "failed": N_("failed"),
    "blocked_by_validation": N_("blocked by the naming check"),
    "queue_failed": N_("could not be queued"),
}


def status_words(status: str | None) -> str:
    """A session's ``sync_status`` in words, e.g. "queued"; the value itself if unknown."""
    words = _STATUS_WORDS.get(status or "")
    return _(words) if words else str(status or "")


#: What the NAS is doing, by reason code, to follow "waiting for the NAS: " (marked here,
#: translated where shown).
_REASON_WORDS = {
    "not_reachable": N_("not reachable"),
    "read_only": N_("read-only"),
    "timeout": N_("not answering"),
    "connection_refused": N_("refusing connections"),
    "io_error": N_("failing (input/output error)"),
    "no_space": N_("full"),
    "checksum_mismatch": N_("copies did not match"),
    "auth_refused": N_("refusing the login"),
    "source_missing": N_("local folder gone"),
    "tool_missing": N_("program missing"),
    "bad_target": N_("not configured"),
    "interrupted": N_("stopped when the app quit"),
    "error": N_("error"),
}


def reason_words(code: str | None, message: str | None = None) -> str:
    """A reason in words: the words for its code, with its own message (a program's
    output, a path) after them; the message alone for a code without words."""
    words = _REASON_WORDS.get(code or "")
    if words is None:
        return message or ""
    if not message:
        return _(words)
    return _("{reason} ({detail})").format(reason=_(words), detail=message.rstrip("."))


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
    #: In the serving process's language (see docs/api.md); :func:`headline_of` words it
    #: again in another's.
    headline: str = ""
    problems: list[str] = msgspec.field(default_factory=list)

    @property
    def pending(self) -> int:
        return self.queued + self.copying + self.waiting

    @property
    def in_trouble(self) -> bool:
        return bool(self.waiting or self.failed)


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


def headline_of(summary: Mapping[str, Any]) -> str:
    """The headline of a summary as the API sends it, in this process's language."""
    try:
        return _headline(msgspec.convert(dict(summary), SyncSummary))
    except (msgspec.ValidationError, TypeError):
        return str(summary.get("headline") or "")


def _headline(s: SyncSummary) -> str:
    parts = []
    if s.waiting:
        words = ngettext(
            "{n} folder waiting for the NAS: {why} since {since}",
            "{n} folders waiting for the NAS: {why} since {since}",
            s.waiting,
        )
        why = _(_REASON_WORDS.get(s.reason_code or "", _REASON_WORDS["not_reachable"]))
        parts.append(words.format(n=s.waiting, why=why, since=_clock_words(s.waiting_since)))
    if s.failed:
        if s.waiting:
            words = ngettext(
                "{n} folder could not be synced to the NAS",
                "{n} folders could not be synced to the NAS",
                s.failed,
            )
        else:
            words = ngettext(
                "{n} folder could not be synced to the NAS ({why})",
                "{n} folders could not be synced to the NAS ({why})",
                s.failed,
            )
        why = _(_REASON_WORDS.get(s.reason_code or "", _REASON_WORDS["error"]))
        parts.append(words.format(n=s.failed, why=why))
    if s.copying or s.queued:
        count = s.copying + s.queued
        words = ngettext("copying {n} folder to the NAS", "copying {n} folders to the NAS", count)
        parts.append(words.format(n=count))
    if not parts:
        if not s.synced:
            return _("NAS sync: nothing to do")
        words = ngettext(
            "NAS sync: {n} folder synced", "NAS sync: all {n} folders synced", s.synced
        )
        return words.format(n=s.synced)
    text = _("; ").join(parts)
    return text[0].upper() + text[1:]


def _clock_words(moment: datetime | None) -> str:
    return moment.astimezone().strftime(_("%H:%M")) if moment else "?"


#: A folder's ``sync_status`` when no job was made for it, in words (marked here,
#: translated in job_words).
_NO_JOB_WORDS = {
    "not_configured": N_("Not synced: no NAS is set in the settings."),
    "blocked_by_validation": N_(
        "Not synced: the folder failed the naming check (see Warnings). "
        "Fix it, then choose Queue for NAS sync again."
    ),
    "queue_failed": N_("Not synced: it could not be queued (see Warnings)."),
}


def job_words(job: SyncJob | None, sync_status: str | None = None) -> str:
    """One folder's NAS sync in a sentence (the details dialog, the CLI)."""
    if job is None:
        words = _NO_JOB_WORDS.get(sync_status or "")
        if words:
            return _(words)
        return _("Sync: {status}").format(status=sync_status) if sync_status else ""
    reason = reason_words(job.reason.code, job.reason.message) if job.reason else ""
    if job.status is JobStatus.SYNCED:
        when = _clock_words(job.finished_at)
        if job.files is None:
            return _("Synced to {target} at {when} (files checked).").format(
                target=job.target, when=when
            )
        words = ngettext(
            "Synced to {target} at {when} ({n} file, checked).",
            "Synced to {target} at {when} ({n} files, checked).",
            job.files,
        )
        return words.format(target=job.target, when=when, n=job.files)
    if job.status is JobStatus.COPYING:
        return _("Copying to {target}…").format(target=job.target)
    if job.status is JobStatus.QUEUED:
        return _("Queued for {target}.").format(target=job.target)
    if job.status is JobStatus.WAITING:
        return _("Waiting: {reason}. Next try at {when} (attempt {n}).").format(
            reason=reason, when=_clock_words(job.next_attempt_at), n=job.attempts + 1
        )
    return _("Failed: {reason}. Choose Retry now once it is fixed.").format(reason=reason)
