"""The durable NAS sync queue: one attempt at a time, off the loop thread, retried on a schedule.

The loop thread owns the jobs; each change is committed to the queue's SQLite
file (and mirrored into the folder's ``creation.json``) by one database
thread, and observers are told. Attempts run in a worker thread. Time and the
jitter draw are injected, so the schedule is tested without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from tray_app import paths
from tray_app.creation.sync import attempt
from tray_app.creation.sync.control import Control
from tray_app.creation.sync.db import QueueDB
from tray_app.creation.sync.legacy import LEGACY_NAME, read_legacy
from tray_app.creation.sync.manifest import Manifest
from tray_app.creation.sync.model import Code, JobStatus, Reason, SyncFailure, SyncJob
from tray_app.creation.sync.mounts import MountWatcher
from tray_app.creation.sync.network import NetworkWatcher
from tray_app.creation.sync.options import SyncOptions
from tray_app.creation.sync.records import record_bytes, update_record
from tray_app.creation.sync.schedule import next_attempt_at
from tray_app.creation.sync.targets import SyncPlan
from tray_app.loop_timer import LoopTimer
from tray_app.sessions.session import utc_now

__all__ = ["DB_NAME", "KEEP_SYNCED", "SyncQueue"]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

DB_NAME = "sync.sqlite3"
#: Synced jobs kept for the record (the newest); waiting and failed ones are never dropped.
KEEP_SYNCED = 500
#: How long the loop sleeps at most before it looks at the schedule again (a clock jump).
_MAX_NAP_S = 600.0
#: Reasons that a changed mount table may have cured.
_MOUNT_CURABLE = frozenset({Code.NOT_REACHABLE, Code.READ_ONLY, Code.IO_ERROR, Code.NO_SPACE})
#: Reasons that the network coming back may have cured (a remote NAS, an NFS server).
_NETWORK_CURABLE = frozenset(
    {Code.NOT_REACHABLE, Code.CONNECTION_REFUSED, Code.TIMEOUT, Code.IO_ERROR}
)

#: Called on the loop thread after each committed change, with the job as it was then.
Observer = Callable[[SyncJob], None]


class SyncQueue:
    def __init__(
        self,
        db_path: Path | None = None,
        *,
        options: SyncOptions | None = None,
        clock: Callable[[], datetime] = utc_now,
        draw: Callable[[], float] = random.random,
        legacy_path: Path | None = None,
        legacy_root: Path | None = None,
        watch_mounts: bool = True,
    ) -> None:
        self.db_path = db_path or paths.state_dir() / DB_NAME
        self.options = options or SyncOptions()
        self._clock = clock
        self._draw = draw
        self._legacy_path = legacy_path or self.db_path.with_name(LEGACY_NAME)
        self._legacy_root = legacy_root
        self._jobs: dict[str, SyncJob] = {}
        self._observers: list[Observer] = []
        self.problems: list[str] = []
        self._db: QueueDB | None = None
        self._db_thread = ThreadPoolExecutor(1, thread_name_prefix="exlab-sync-db")
        self._worker: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._settled = asyncio.Event()
        #: Wakes the worker when the earliest waiting job is due; made on open()'s loop.
        self._timer: LoopTimer | None = None
        self._control: Control | None = None
        self._current: str | None = None
        # Set when "Retry now", a mount table change or the network coming back arrives
        # while the job's attempt is in flight (probing or copying): if that attempt ends
        # waiting for a reason the change may have cured, it is due again at once instead
        # of on the schedule, so none is lost (see _failed).
        self._retry_asked_mid_attempt = False
        self._cured_mid_attempt: frozenset[str] = frozenset()
        self._closing = False
        self._opening = asyncio.Lock()
        self._mounts = MountWatcher(self._mounts_changed) if watch_mounts else None
        self._network = NetworkWatcher(self._network_changed) if watch_mounts else None
        # The loop open() ran on. Every later hop uses it rather than asking asyncio:
        # under qasync a task may resume from a thread's result while Qt, not asyncio,
        # is dispatching (tests step the loop), and get_running_loop() then raises.
        self._loop: asyncio.AbstractEventLoop | None = None

    # ---- starting and stopping -----------------------------------------------
    async def open(self) -> None:
        """Load the queue (importing the old JSON queue once) and start working."""
        async with self._opening:  # two callers at once must not start two workers
            if self._db is None:
                await self._open()

    async def _open(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._timer = LoopTimer(self._wake.set, self._loop)
        self._db = await self._in_db(QueueDB, self.db_path)
        jobs = await self._in_db(self._db.load)
        self.problems += self._db.problems
        for problem in self._db.problems:
            _log.error("%s", problem)
        for job in jobs:
            if job.status is JobStatus.COPYING:  # the app stopped mid-copy: continue it
                job.status = JobStatus.QUEUED
            self._jobs[job.id] = job
        await self._import_legacy()
        loop = self._event_loop()
        self._worker = loop.create_task(self._work(), name="exlab-sync-queue")
        if self._mounts is not None:
            self._mounts.start(loop)

    async def _import_legacy(self) -> None:
        assert self._db is not None
        imported: str | None = await self._in_db(self._db.meta, "legacy_imported")
        if imported or not self._legacy_path.is_file():
            return
        try:
            jobs, problem = await self._in_thread(
                read_legacy, self._legacy_path, self._legacy_root, self._clock()
            )
        except OSError as exc:
            self.problems.append(f"The old sync queue could not be read: {exc}")
            return
        fresh = [job for job in jobs if job.id not in self._jobs]
        await self._in_db(self._db.put, fresh, meta={"legacy_imported": str(self._legacy_path)})
        for job in fresh:
            self._jobs[job.id] = job
        if problem:
            self.problems.append(problem)
            _log.error("%s", problem)
        stamp = self._clock().strftime("%Y%m%dT%H%M%SZ")
        with contextlib.suppress(OSError):
            self._legacy_path.rename(self._legacy_path.with_name(f"{LEGACY_NAME}.imported-{stamp}"))
        _log.info("imported %d job(s) from %s", len(fresh), self._legacy_path)

    async def aclose(self, grace_s: float = 10.0) -> bool:
        """Stop: wait up to ``grace_s`` for a copy in flight, else stop it (resumed next start).

        Returns True when nothing had to be interrupted.
        """
        self._closing = True
        if self._mounts is not None:
            self._mounts.stop()
        if self._network is not None:
            self._network.stop()
        if self._timer is not None:
            self._timer.cancel()
        clean = True
        worker = self._worker
        if worker is not None:
            self._wake.set()
            done, _ = await asyncio.wait({worker}, timeout=grace_s)
            if not done:
                clean = False
                if self._control is not None:
                    self._control.cancel()
                done, _ = await asyncio.wait({worker}, timeout=5)
                if not done:
                    _log.warning("the sync copy did not stop; its job is resumed next start")
                    worker.cancel()
        if self._db is not None:
            with contextlib.suppress(Exception):
                await self._in_db(self._db.close)
        self._db_thread.shutdown(wait=False)
        return clean

    # ---- reading -------------------------------------------------------------
    def jobs(self) -> list[SyncJob]:
        return list(self._jobs.values())

    def get(self, job_id: str) -> SyncJob | None:
        return self._jobs.get(job_id)

    def for_session(self, session_id: str) -> SyncJob | None:
        """The newest job of a session's folder."""
        found = [j for j in self._jobs.values() if j.session_id == session_id]
        return found[-1] if found else None

    def add_observer(self, observer: Observer) -> Callable[[], None]:
        self._observers.append(observer)
        return lambda: self._observers.remove(observer) if observer in self._observers else None

    async def wait_settled(self, timeout: float) -> bool:  # noqa: ASYNC109
        """True once no job is due now or copying (within ``timeout`` seconds)."""
        self._settled.clear()
        self._wake.set()
        try:
            await asyncio.wait_for(self._settled.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # ---- changing ------------------------------------------------------------
    async def enqueue(
        self,
        source: Path,
        plan: SyncPlan,
        relative: str,
        *,
        session_id: str | None = None,
        equipment_id: str | None = None,
    ) -> SyncJob:
        """Queue ``source`` for ``plan.root``/``relative``; durable once this returns."""
        job = SyncJob(
            id=uuid.uuid4().hex[:12],
            source=str(source),
            root=plan.root,
            relative=relative,
            transport=plan.transport,
            require_mount=plan.require_mount,
            session_id=session_id,
            equipment_id=equipment_id,
            queued_at=self._clock(),
        )
        await self._save(job)  # durable before the worker may see it
        self._jobs[job.id] = job
        self._wake.set()
        return job

    async def retry(self, job_id: str) -> SyncJob:
        """Retry now: the job is due at once (a synced one is copied and checked again)."""
        job = self._jobs[job_id]
        if job_id == self._current:
            self._retry_asked_mid_attempt = True
        elif job.status is not JobStatus.COPYING:
            job.status = JobStatus.QUEUED
            job.next_attempt_at = None
            await self._save(job)
        return job

    def wake(self) -> None:
        """Look at the schedule now (the clock may have moved)."""
        self._wake.set()

    async def _save(self, job: SyncJob) -> None:
        snapshot = msgspec.structs.replace(job)
        if self._db is not None:
            await self._in_db(self._commit, snapshot)
        for observer in list(self._observers):
            try:
                observer(snapshot)  # the job as it was at this change
            except Exception:
                _log.exception("sync observer failed")
        self._wake.set()

    def _commit(self, job: SyncJob) -> None:
        assert self._db is not None
        self._db.put([job])
        update_record(job)

    def _in_db(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> asyncio.Future[_T]:
        loop = self._event_loop()
        return loop.run_in_executor(self._db_thread, partial(fn, *args, **kwargs))

    def _in_thread(self, fn: Callable[..., _T], *args: Any) -> asyncio.Future[_T]:
        """``asyncio.to_thread`` on the queue's own loop (see ``_loop``)."""
        return self._event_loop().run_in_executor(None, partial(fn, *args))

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop if self._loop is not None else asyncio.get_running_loop()

    # ---- the worker ----------------------------------------------------------
    def _due(self) -> SyncJob | None:
        now = self._clock()
        due = [
            j
            for j in self._jobs.values()
            if j.status is JobStatus.QUEUED
            or (
                j.status is JobStatus.WAITING
                and (j.next_attempt_at is None or j.next_attempt_at <= now)
            )
        ]
        return min(due, key=lambda j: j.next_attempt_at or j.queued_at) if due else None

    def _arm_timer(self) -> None:
        """Wake at the earliest waiting job's time (at most a nap away); not at all if none."""
        assert self._timer is not None  # the worker runs only after open()
        waits = [
            j.next_attempt_at
            for j in self._jobs.values()
            if j.status is JobStatus.WAITING and j.next_attempt_at
        ]
        if waits:
            delay = (min(waits) - self._clock()).total_seconds()
            self._timer.start(min(max(delay, 0.0), _MAX_NAP_S))
        else:
            self._timer.cancel()

    async def _work(self) -> None:
        while not self._closing:
            self._wake.clear()
            job = self._due()
            if job is None:
                self._arm_timer()
                self._watch_network_while_needed()
                self._settled.set()
                await self._wake.wait()
                continue
            try:
                await self._attempt(job)
            except Exception:
                _log.exception("sync attempt of job %s failed unexpectedly", job.id)
                await self._failed(job, Reason(Code.ERROR, "Unexpected error; see the log."))

    async def _attempt(self, job: SyncJob) -> None:
        control = self._control = Control()
        self._current = job.id
        self._retry_asked_mid_attempt, self._cured_mid_attempt = False, frozenset()
        try:
            job.attempts += 1
            job.last_attempt_at = self._clock()
            try:
                exists = await self._in_thread(attempt.probe, job, self.options, control)
            except SyncFailure as failure:
                await self._failed(job, failure.reason)
                return
            job.status, job.reason = JobStatus.COPYING, None
            await self._save(job)
            try:
                manifest = await self._in_thread(
                    attempt.transfer, job, exists, self.options, control,
                    partial(self._final_record, job),
                )  # fmt: skip
            except SyncFailure as failure:
                await self._failed(job, failure.reason)
                return
            except OSError as exc:
                await self._failed(job, Reason(Code.IO_ERROR, f"Copy failed: {exc}"))
                return
            self._synced(job, manifest, self._clock())
            await self._save(job)
            self._root_reachable(job.root)
            self.prune()
        finally:
            self._control = None
            self._current = None

    def _final_record(self, job: SyncJob, manifest: Manifest) -> bytes | None:
        """The record as the NAS copy should carry it: already ``synced``."""
        done = msgspec.structs.replace(job)
        self._synced(done, manifest, self._clock())
        return record_bytes(done)

    @staticmethod
    def _synced(job: SyncJob, manifest: Manifest, now: datetime) -> None:
        job.status = JobStatus.SYNCED
        job.finished_at = now
        job.files, job.bytes = manifest.file_count, manifest.total_bytes
        job.reason = job.next_attempt_at = job.waiting_since = None

    async def _failed(self, job: SyncJob, reason: Reason) -> None:
        now = self._clock()
        if reason.code == Code.INTERRUPTED:
            job.status, job.reason = JobStatus.QUEUED, None
            job.attempts = max(0, job.attempts - 1)  # a stop is not a failure
        elif reason.transient:
            job.status, job.reason = JobStatus.WAITING, reason
            job.next_attempt_at = next_attempt_at(now, job.attempts, self._draw)
            if self._retry_asked_mid_attempt or reason.code in self._cured_mid_attempt:
                job.next_attempt_at = now
            job.waiting_since = job.waiting_since or now
            _log.warning(
                "sync of %s waits until %s: %s", job.source, job.next_attempt_at, reason.message
            )
        else:
            job.status, job.reason = JobStatus.FAILED, reason
            job.next_attempt_at = None
            _log.error("sync of %s failed: %s", job.source, reason.message)
        await self._save(job)

    # ---- reachable again -----------------------------------------------------
    def _root_reachable(self, root: str) -> None:
        """A copy to ``root`` just worked: its waiting jobs need not wait any longer."""
        now = self._clock()
        for other in self._jobs.values():
            if other.status is JobStatus.WAITING and other.root == root:
                other.next_attempt_at = now
        self._wake.set()

    def _mounts_changed(self) -> None:
        self._cured(_MOUNT_CURABLE, "the mount table changed")

    def _network_changed(self) -> None:
        self._cured(_NETWORK_CURABLE, "the network changed")

    def _cured(self, curable: frozenset[str], what: str) -> None:
        """Something that may have cured ``curable`` reasons happened: their jobs are due."""
        if self._current is not None:
            self._cured_mid_attempt |= curable
        now = self._clock()
        changed = False
        for job in self._waiting_for(curable):
            job.next_attempt_at = now
            changed = True
        if changed:
            _log.info("%s: retrying the jobs waiting for the NAS", what)
            self._wake.set()

    def _waiting_for(self, reasons: frozenset[str]) -> list[SyncJob]:
        return [
            job
            for job in self._jobs.values()
            if job.status is JobStatus.WAITING and job.reason and job.reason.code in reasons
        ]

    def _watch_network_while_needed(self) -> None:
        """Listen for the network only while a job waits for a NAS it could not reach."""
        if self._network is None or self._loop is None:
            return
        if self._waiting_for(_NETWORK_CURABLE):
            self._network.start(self._loop)
        else:
            self._network.stop()

    def prune(self) -> list[str]:
        """Forget the oldest synced jobs beyond :data:`KEEP_SYNCED` (returns their ids)."""
        synced = [j for j in self._jobs.values() if j.status is JobStatus.SYNCED]
        drop = [j.id for j in synced[: max(0, len(synced) - KEEP_SYNCED)]]
        for job_id in drop:
            del self._jobs[job_id]
        if drop and self._db is not None:
            self._db_thread.submit(self._db.delete, drop)
        return drop
