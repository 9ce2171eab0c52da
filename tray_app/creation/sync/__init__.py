"""NAS sync: a durable queue that copies finished folders to the lab NAS and checks them.

``SyncQueue`` (queue.py) drives jobs (model.py) through attempts (attempt.py)
over a transport (transport_copy.py, transport_rsync.py, transport_rclone.py) to a
local path (local_target.py) or a remote, hashed into a SHA-256 manifest
(manifest.py) as it is copied and checked by reading the copy back (read_back.py),
retried on a schedule (schedule.py), kept in SQLite (db.py). No Qt.

``SyncQueue`` and ``DB_NAME`` load on first use (PEP 562): the queue pulls in the
attempts, transports and SQLite (~40 ms), which neither ``serve``'s start nor the idle
tray needs; importing the jobs' types from here stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tray_app.creation.sync.model import (
    ACTIVE,
    Code,
    JobStatus,
    Reason,
    SyncFailure,
    SyncJob,
    Transport,
)
from tray_app.creation.sync.options import SyncOptions
from tray_app.creation.sync.summary import SyncSummary, job_words, summarize
from tray_app.creation.sync.targets import SyncPlan, any_target, options_from, plan_for

if TYPE_CHECKING:
    from tray_app.creation.sync.queue import DB_NAME, SyncQueue

__all__ = [
    "ACTIVE",
    "DB_NAME",
    "Code",
    "JobStatus",
    "Reason",
    "SyncFailure",
    "SyncJob",
    "SyncOptions",
    "SyncPlan",
    "SyncQueue",
    "SyncSummary",
    "Transport",
    "any_target",
    "job_words",
    "options_from",
    "plan_for",
    "summarize",
]


def __getattr__(name: str) -> Any:
    if name in ("DB_NAME", "SyncQueue"):
        from tray_app.creation.sync import queue

        return getattr(queue, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
