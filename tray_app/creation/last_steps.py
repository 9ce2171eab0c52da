"""The last steps of a creation, POST_VALIDATE (the folder checked) and SYNC_QUEUED (its
NAS copy queued): once here for the pipeline, and for a restart that finishes a session
whose record was written before the stop (``restarts.finish_recorded``).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tray_app.config import Settings
from tray_app.creation.naming import find_unsafe_entries
from tray_app.creation.record import PluginRecord, relative_to
from tray_app.creation.sync import SyncJob, SyncPlan
from tray_app.creation.wording import queue_failed_words, sync_blocked_words
from tray_app.sessions.store import SessionStore

if TYPE_CHECKING:
    from tray_app.creation.sync.queue import SyncQueue

__all__ = ["LastSteps", "folder_findings"]


def folder_findings(destination: Path, plugins: Iterable[PluginRecord]) -> list[str]:
    """Blocking: what in the folder keeps it from the NAS (names against the naming
    rules, files a plugin reported outside the folder); empty when nothing does."""
    findings = find_unsafe_entries(destination)
    root = destination.resolve()
    for plugin in plugins:
        for name in plugin.files:
            if not (destination / name).resolve().is_relative_to(root):
                findings.append(f"{name}: plugin {plugin.name!r} reported a file outside")
    return findings


@dataclass(frozen=True, slots=True)
class LastSteps:
    """The two steps, with what they need of the controller."""

    store: SessionStore
    settings: Settings
    #: The NAS sync queue (made on first use by the controller).
    sync_queue: Callable[[], Awaitable[SyncQueue]]

    async def check_folder(
        self, session_id: str, destination: Path, plugins: Iterable[PluginRecord]
    ) -> list[str]:
        """The folder's findings; each one blocks its sync, said in a warning."""
        findings = await asyncio.to_thread(folder_findings, destination, list(plugins))
        if findings:
            words = sync_blocked_words(findings)
            session = self.store.get(session_id)
            if session is None or words not in session.warnings:  # once, after a restart too
                self.store.warn(session_id, words)
        return findings

    async def queued_job(self, session_id: str) -> SyncJob | None:
        """The session's NAS sync job, if one was queued (None when the queue is unusable:
        the queueing step says why)."""
        try:
            queue = await self.sync_queue()
        except (OSError, sqlite3.Error):
            return None
        return queue.for_session(session_id)

    async def queue_sync(
        self,
        session_id: str,
        destination: Path,
        plan: SyncPlan,
        equipment_id: str | None,
        *,
        restarted: bool = False,
    ) -> tuple[str, SyncJob | None]:
        """Queue the folder's NAS copy: ``("queued", job)``, durable when this returns;
        ``("queue_failed", None)`` with a warning when the queue cannot take it.
        ``restarted``: a session from before a restart, whose job may be queued already
        (it stopped after queueing but before DONE), is not queued twice."""
        try:
            queue = await self.sync_queue()
            job = queue.for_session(session_id) if restarted else None
            if job is None:
                relative = relative_to(destination, self.settings.local_root_path())
                job = await queue.enqueue(
                    destination, plan, relative, session_id=session_id, equipment_id=equipment_id
                )
        except (OSError, sqlite3.Error) as exc:
            self.store.warn(session_id, queue_failed_words(exc))
            return "queue_failed", None
        return "queued", job
