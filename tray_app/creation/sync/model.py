"""The NAS sync queue's data: a job, its status, and why an attempt did not succeed.

One shape for every layer: the queue persists it, creation.json mirrors it,
the API, CLI and tray show it. Reasons are values with stable codes and words.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec

__all__ = [
    "ACTIVE",
    "Code",
    "JobStatus",
    "Reason",
    "SyncFailure",
    "SyncJob",
    "Transport",
]


class Transport(StrEnum):
    COPY = "copy"  # a mounted path, copied by this process
    RSYNC = "rsync"  # the rsync program: a local path or user@host:path over SSH
    RCLONE = "rclone"  # the rclone program: remote:path of any configured remote


class JobStatus(StrEnum):
    QUEUED = "queued"  # due now
    COPYING = "copying"  # an attempt is running
    SYNCED = "synced"  # copied and verified
    WAITING = "waiting"  # a transient failure; retried at ``next_attempt_at``
    FAILED = "failed"  # a permanent failure; only "Retry now" tries again


#: Jobs that are not finished (the queue still owes them a copy).
ACTIVE = frozenset({JobStatus.QUEUED, JobStatus.COPYING, JobStatus.WAITING})


class Reason(msgspec.Struct, frozen=True):
    """Why an attempt did not succeed: a stable ``code`` and a sentence for a person."""

    code: str
    message: str
    transient: bool = True


class Code:
    """The stable reason codes."""

    NOT_REACHABLE = "not_reachable"
    READ_ONLY = "read_only"
    TIMEOUT = "timeout"
    CONNECTION_REFUSED = "connection_refused"
    IO_ERROR = "io_error"
    NO_SPACE = "no_space"
    MISMATCH = "checksum_mismatch"
    INTERRUPTED = "interrupted"
    AUTH_REFUSED = "auth_refused"
    SOURCE_MISSING = "source_missing"
    TOOL_MISSING = "tool_missing"
    BAD_TARGET = "bad_target"
    ERROR = "error"


class SyncFailure(Exception):
    """An attempt that did not succeed, carrying its :class:`Reason`."""

    def __init__(self, code: str, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.reason = Reason(code, message, transient)


class SyncJob(msgspec.Struct, kw_only=True):
    """One folder to copy to the NAS, and where its copy stands."""

    id: str
    source: str
    #: Where the target root is: a mounted path, ``[user@]host:path`` or ``remote:path``.
    root: str
    #: The folder's path under ``root`` ("/"-separated; the same as under local_root).
    relative: str
    transport: Transport = Transport.COPY
    require_mount: bool = False
    session_id: str | None = None
    equipment_id: str | None = None
    status: JobStatus = JobStatus.QUEUED
    attempts: int = 0
    queued_at: datetime
    last_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = None
    finished_at: datetime | None = None
    #: When the job first started waiting in its current run of failures.
    waiting_since: datetime | None = None
    reason: Reason | None = None
    files: int | None = None
    bytes: int | None = None
    #: The folder's full target as a person (and the transport) names it (derived).
    target: str = ""

    def __post_init__(self) -> None:
        root = self.root if self.root.endswith((":", "/")) else self.root + "/"
        self.target = root + self.relative if self.relative else self.root

    @property
    def active(self) -> bool:
        return self.status in ACTIVE
