"""NAS sync: a durable queue that copies finished folders to the lab NAS and checks them.

``SyncQueue`` (queue.py) drives jobs (model.py) through attempts (attempt.py)
over a transport (transport_copy.py, transport_tools.py), verified against a
SHA-256 manifest (manifest.py), retried on a schedule (schedule.py), kept in
SQLite (db.py). No Qt.
"""

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
from tray_app.creation.sync.queue import DB_NAME, SyncQueue
from tray_app.creation.sync.summary import SyncSummary, job_words, summarize
from tray_app.creation.sync.targets import SyncPlan, any_target, options_from, plan_for

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
