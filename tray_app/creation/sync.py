"""A small persistent queue that copies finished folders to the lab NAS.

Jobs are copied one at a time in a worker thread; the queue's state lives in
``<state_dir>/sync-queue.json`` (written atomically), so jobs left unfinished
when the app stopped are picked up again on the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import msgspec

from tray_app import fileio, paths
from tray_app.creation.record import RECORD_DIR
from tray_app.sessions.session import iso_z, utc_now

__all__ = ["SyncJob", "SyncQueue", "sync_state_path"]

_log = logging.getLogger(__name__)

QUEUED = "queued"
COPYING = "copying"
SYNCED = "synced"
FAILED = "failed"
#: Finished jobs kept in the state file (the newest ones).
KEEP_FINISHED = 200


class SyncJob(msgspec.Struct, kw_only=True):
    id: str
    source: str
    target: str
    status: str
    queued_at: str
    session_id: str | None = None
    finished_at: str | None = None
    error: str | None = None


class _State(msgspec.Struct):
    jobs: list[SyncJob] = msgspec.field(default_factory=list)


def sync_state_path() -> Path:
    return paths.state_dir() / "sync-queue.json"


def _other_creations(source: Path) -> Callable[[str, list[str]], set[str]]:
    """copytree ``ignore``: skip nested folders that are creations of their own.

    A project's runs are synced by their own jobs (or blocked by their own
    post-validation); copying a project must not carry them along.
    """

    def ignore(directory: str, names: list[str]) -> set[str]:
        return {
            name
            for name in names
            if (Path(directory) / name / RECORD_DIR).is_dir() and Path(directory) / name != source
        }

    return ignore


def _copy_folder(source: Path, target: Path, job_id: str) -> None:
    """Copy ``source`` to ``target``; a fresh target appears whole (copy beside, rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    ignore = _other_creations(source)
    if target.exists():
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True, ignore=ignore)
        return
    partial = target.parent / f".{target.name}.partial-{job_id}"
    try:
        shutil.copytree(source, partial, symlinks=True, ignore=ignore)
        os.rename(partial, target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


class SyncQueue:
    """Copy jobs with their status persisted; one copy at a time, off the loop thread."""

    def __init__(
        self, state_file: Path | None = None, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.state_file = state_file or sync_state_path()
        self._clock = clock
        self._jobs: list[SyncJob] = self._load()
        self._worker: asyncio.Task[None] | None = None
        self._persist_lock = asyncio.Lock()
        self._idle = asyncio.Event()
        self._idle.set()

    def _load(self) -> list[SyncJob]:
        try:
            state = msgspec.json.decode(self.state_file.read_bytes(), type=_State)
        except FileNotFoundError:
            return []
        except (OSError, msgspec.DecodeError) as exc:
            _log.warning("ignoring unreadable sync queue %s: %s", self.state_file, exc)
            return []
        for job in state.jobs:
            if job.status == COPYING:  # interrupted by a stop: copy again
                job.status = QUEUED
        return state.jobs

    def jobs(self) -> list[SyncJob]:
        return list(self._jobs)

    def get(self, job_id: str) -> SyncJob | None:
        return next((job for job in self._jobs if job.id == job_id), None)

    @property
    def pending_count(self) -> int:
        return sum(job.status in (QUEUED, COPYING) for job in self._jobs)

    async def enqueue(
        self, source: Path, target: Path, *, session_id: str | None = None
    ) -> SyncJob:
        job = SyncJob(
            id=uuid.uuid4().hex[:12],
            source=str(source),
            target=str(target),
            status=QUEUED,
            queued_at=iso_z(self._clock()),
            session_id=session_id,
        )
        self._jobs.append(job)
        await self._persist()
        self.start()
        return job

    def start(self) -> None:
        """Start copying queued jobs (also the ones left from a previous run)."""
        if self.pending_count and (self._worker is None or self._worker.done()):
            self._idle.clear()
            self._worker = asyncio.get_running_loop().create_task(
                self._work(), name="exlab-sync-queue"
            )

    async def wait_idle(self, timeout: float) -> bool:  # noqa: ASYNC109
        """True once no job is queued or copying (within ``timeout`` seconds)."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def aclose(self) -> None:
        """Stop the worker; a copy in flight is redone on the next start."""
        worker, self._worker = self._worker, None
        if worker is not None and not worker.done():
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def _work(self) -> None:
        try:
            while True:
                job = next((j for j in self._jobs if j.status == QUEUED), None)
                if job is None:
                    return
                job.status = COPYING
                await self._persist()
                try:
                    await asyncio.to_thread(
                        _copy_folder, Path(job.source), Path(job.target), job.id
                    )
                except Exception as exc:
                    job.status, job.error = FAILED, f"{type(exc).__name__}: {exc}"
                    _log.warning("sync of %s failed: %s", job.source, exc)
                else:
                    job.status = SYNCED
                job.finished_at = iso_z(self._clock())
                await self._persist()
        finally:
            self._idle.set()

    async def _persist(self) -> None:
        finished = [j for j in self._jobs if j.status in (SYNCED, FAILED)]
        if len(finished) > KEEP_FINISHED:
            drop = {id(j) for j in finished[: len(finished) - KEEP_FINISHED]}
            self._jobs = [j for j in self._jobs if id(j) not in drop]
        data = msgspec.json.format(msgspec.json.encode(_State(self._jobs)), indent=2)
        async with self._persist_lock:
            await asyncio.to_thread(fileio.atomic_write_bytes, self.state_file, data)
