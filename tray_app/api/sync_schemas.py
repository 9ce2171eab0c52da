"""Wire types of ``/api/v1/sync`` and the queue's part of ``/health``.

Jobs and the summary are the creation layer's own msgspec types (one shape for
the queue, the CLI and the API); these wrap them.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from tray_app.creation.sync import SyncJob, SyncSummary

__all__ = ["HealthSync", "RequeueBody", "SyncList", "health_sync"]


class SyncList(msgspec.Struct):
    """``GET /sync``: the summary the tray shows, then every job, oldest first."""

    configured: Annotated[bool, msgspec.Meta(description="False: no NAS is set.")]
    summary: SyncSummary | None
    jobs: list[SyncJob]


class RequeueBody(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /sync/requeue``: a job id, a session id or a folder path."""

    id: Annotated[str, msgspec.Meta(min_length=1)]


class HealthSync(msgspec.Struct):
    """The queue in ``/health``: counts and one line, no paths (it answers without a token)."""

    queued: int
    copying: int
    synced: int
    waiting: int
    failed: int
    headline: str
    problems: int


def health_sync(summary: SyncSummary | None) -> HealthSync | None:
    if summary is None:
        return None
    # The counts and headline as they are (HealthSync ignores the summary's other keys);
    # the problems as a number: /health answers without a token.
    counts = msgspec.structs.asdict(summary) | {"problems": len(summary.problems)}
    return msgspec.convert(counts, HealthSync)
