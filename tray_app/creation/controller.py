"""CreationController: the registry of creation sessions and the commands on them (create,
resume, cancel, shutdown), for the API, the CLI (through the API) and the tray alike.

Each session gets one pipeline run (``pipeline.py``) in its own asyncio task; the
controller keeps the run and the task until the session ends, and the typed prompt a
waiting session shows (``creation/prompt.py``), whose answers it checks before resuming.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tray_app.config import Settings
from tray_app.creation import errors as codes
from tray_app.creation import restarts
from tray_app.creation.destinations import Destinations
from tray_app.creation.errors import CreationError
from tray_app.creation.pipeline import Pipeline
from tray_app.creation.plugins.pool import WorkerPool
from tray_app.creation.prompt import Prompt, check_answers
from tray_app.creation.record import CreationRecord
from tray_app.creation.render_process import RenderProcess
from tray_app.creation.requests import CreateRequest, ProjectRequest, RunRequest, request_to_dict
from tray_app.creation.session_run import Abort, SessionRun
from tray_app.creation.sync import (
    SyncJob,
    SyncSummary,
    any_target,
    options_from,
    plan_for,
    summarize,
)
from tray_app.creation.sync.records import follow_job
from tray_app.creation.sync.requeue import check_again
from tray_app.creation.templates import TemplateCatalog, TemplateInfo
from tray_app.creation.templates import import_parser as import_template_parser
from tray_app.creation.wording import request_title, state_words
from tray_app.i18n import _
from tray_app.sessions.journal import JournalUnavailable
from tray_app.sessions.session import JsonDict, Session
from tray_app.sessions.states import SessionKind, SessionState
from tray_app.sessions.store import SessionStore

if TYPE_CHECKING:
    # Loaded on first use (open_sync_queue): the queue is the costly part of sync.
    from tray_app.creation.sync.queue import Observer as SyncObserver
    from tray_app.creation.sync.queue import SyncQueue

__all__ = ["CLOSE_TIMEOUT_S", "CreationController"]

_log = logging.getLogger(__name__)

#: How long aclose() waits for pipelines to wind down (render threads cannot be killed).
CLOSE_TIMEOUT_S = 10.0


class CreationController:
    """Creates projects and runs as sessions of ``store``, per ``settings``."""

    def __init__(self, store: SessionStore, settings: Settings) -> None:
        self._store = store
        self._settings = settings
        self._catalog = TemplateCatalog(settings.template_paths())
        self._destinations = Destinations()
        self._runs: dict[str, SessionRun] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._accepting = True
        self._sync: SyncQueue | None = None
        self._sync_observers: list[SyncObserver] = []
        self._sync_caught_up = False
        self._worker_pool: WorkerPool | None = None
        # Copier lives in this worker process, never in the tray's (see render_worker).
        self._renderer = RenderProcess()
        self._pipeline = self._make_pipeline()
        #: Awaited before create() answers: the journal's commit (None: no journal).
        self.durable: Callable[[], Awaitable[None]] | None = None

    def _make_pipeline(self) -> Pipeline:
        return Pipeline(
            self._store,
            self._settings,
            catalog=self._catalog,
            renderer=self._renderer,
            workers=self._plugin_workers,
            sync_queue=self.open_sync_queue,
        )

    # ---- reading -------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self._settings

    def use_settings(self, settings: Settings) -> None:
        """Reloaded settings: new sessions use them (templates are looked up again);
        a session under way keeps the pipeline, and so the settings, it started with."""
        self._settings = settings
        self._catalog = TemplateCatalog(settings.template_paths())
        self._pipeline = self._make_pipeline()
        if self._sync is not None:  # the bandwidth limit and SSH options apply to the next copy
            self._sync.options = options_from(settings)

    @property
    def accepting(self) -> bool:
        return self._accepting

    @property
    def live_task_count(self) -> int:
        return sum(not task.done() for task in self._tasks.values())

    @property
    def sync_queue(self) -> SyncQueue | None:
        """The NAS sync queue, once a folder was queued (None without a NAS root)."""
        return self._sync

    def templates(self, kind: str | None = None) -> list[TemplateInfo]:
        """Templates for dialogs; ``kind`` is ``project``, ``run`` or ``test-run``."""
        return self._catalog.list(kind)

    def template_problems(self) -> list[str]:
        return self._catalog.problems()

    def pending_prompt(self, session_id: str) -> Prompt | None:
        """The typed prompt the session waits on, or None when it waits on none.

        The same object for as long as the session waits on it, so a dialog can
        tell a new prompt from the one it shows.
        """
        run = self._runs.get(session_id)
        waiting = run.waiting if run is not None else None
        return waiting.prompt if waiting is not None else None

    # ---- commands ------------------------------------------------------------------
    async def prewarm(self) -> None:
        """Start the render worker (it imports Copier) and import the template
        catalogue's parser in a thread now, so the first creation waits for neither.

        Also restarts NAS copies left unfinished when the app last stopped, and
        starts the spare plugin worker.
        """
        if any_target(self._settings):
            await self.open_sync_queue()
        self._plugin_workers().warm()
        self._renderer.warm()
        await asyncio.to_thread(import_template_parser)

    async def create(self, request: CreateRequest) -> JsonDict:
        if isinstance(request, ProjectRequest):
            return await self.create_project(request)
        return await self.create_run(request)

    async def create_project(self, request: ProjectRequest) -> JsonDict:
        return await self._create(SessionKind.PROJECT, request)

    async def create_run(self, request: RunRequest) -> JsonDict:
        return await self._create(SessionKind.RUN, request)

    async def resume(self, session_id: str, answers: dict[str, Any]) -> JsonDict:
        """Answer the pending prompt; bad answers raise ``invalid_answers`` and it waits on."""
        session = self._require_live(session_id)
        run = self._runs.get(session_id)
        waiting = run.waiting if run is not None else None
        if session.state is not SessionState.INPUT_REQUIRED or waiting is None:
            raise CreationError(
                codes.NOT_AWAITING_INPUT,
                _("Session {id} is not waiting for input.").format(id=session_id),
            )
        waiting.answers = check_answers(waiting.prompt.fields, answers)
        self._store.heartbeat(session_id)
        self._store.transition(session_id, SessionState.PLUGIN_PASS)
        return self._store.handle(session_id)

    async def cancel(self, session_id: str, discard_files: bool = False) -> JsonDict:
        """Abort a session: kill its plugin worker, then keep or remove its folder.

        Returns once the worker is gone and the files are handled.
        """
        self._require_live(session_id)
        run = self._runs.get(session_id)
        task = self._tasks.get(session_id)
        if run is None or task is None:
            # A session this controller does not drive (opened on the store directly):
            # there is no pipeline to stop, so just end it.
            abort = Abort("cancelled", _("Cancelled."), discard_files)
            self._store.transition(session_id, SessionState.ABORTED, outcome=abort.outcome(None))
            return self._store.handle(session_id)
        run.abort = Abort("cancelled", _("Cancelled by the operator."), discard_files)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(task)
        return self._store.handle(session_id)

    def begin_shutdown(self) -> None:
        """Refuse new sessions from now on (running ones go on)."""
        self._accepting = False
        if self._worker_pool is not None:
            self._worker_pool.close_nowait()  # no spare from now on; running plugins go on

    async def wait_idle(self, timeout: float) -> bool:  # noqa: ASYNC109 (contract)
        """True when no pipeline task is left (within ``timeout`` seconds)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            pending = [t for t in self._tasks.values() if not t.done()]
            remaining = deadline - loop.time()
            if not pending:
                return True
            if remaining <= 0:
                return False
            await asyncio.wait(pending, timeout=remaining)

    async def aclose(self, timeout: float = CLOSE_TIMEOUT_S) -> None:  # noqa: ASYNC109
        """Cancel every pipeline (workers killed, files kept), bounded by ``timeout``."""
        self._accepting = False
        deadline = asyncio.get_running_loop().time() + timeout
        pending = [t for t in self._tasks.values() if not t.done()]
        for session_id, task in list(self._tasks.items()):
            run = self._runs.get(session_id)
            if run is not None and run.abort is None:
                run.abort = Abort("shutdown", _("ExLab Tray stopped before the session finished."))
            task.cancel()
        if pending:
            _done, still = await asyncio.wait(pending, timeout=timeout)
            if still:
                _log.warning("%d creation pipeline(s) did not stop in time", len(still))
        if self._sync is not None:
            # A copy still running then is stopped and resumed at the next start.
            left = deadline - asyncio.get_running_loop().time()
            await self._sync.aclose(grace_s=max(0.5, left))
        if self._worker_pool is not None:
            await self._worker_pool.aclose()
        await self._renderer.aclose()

    # ---- the registry ----------------------------------------------------------------
    async def _create(self, kind: SessionKind, request: CreateRequest) -> JsonDict:
        if not self._accepting:
            raise CreationError(
                codes.SHUTTING_DOWN, _("ExLab Tray is shutting down; no new sessions.")
            )
        now = self._store.clock()
        destination, reserved = self._destinations.plan(self._settings, request, now)
        request_data = request_to_dict(request)
        run = SessionRun(
            session_id="",
            request=request,
            request_data=request_data,
            destination=destination,
            reserved=reserved,
            created_at=now,
            validated=asyncio.get_running_loop().create_future(),
        )
        # A request the checks refuse is answered with its field errors and never becomes a
        # session: no failed entry in Recent, no notice, no badge, nothing to evict.
        refusal = self._pipeline.refusal(run)
        if refusal is not None:
            if reserved:
                self._destinations.release(destination)
            raise refusal
        session = self._store.open(
            kind,
            request_data,
            destination=str(destination) if destination is not None else None,
            title=request_title(request),
        )
        session_id = run.session_id = session.session_id
        self._start(run, self._pipeline.run(run))
        # Shielded: a caller giving up on create() must not cancel the validation.
        await asyncio.shield(run.validated)
        if self.durable is not None:
            # On disk before anyone is told the session exists (the 201, the tray).
            try:
                await asyncio.shield(self.durable())
            except JournalUnavailable as exc:
                await self.cancel(session_id, discard_files=True)
                raise CreationError(
                    codes.JOURNAL_UNAVAILABLE,
                    _("The session could not be recorded, so it was not started: {problem}").format(
                        problem=exc.problem.message
                    ),
                ) from exc
        return self._store.handle(session_id)

    def _start(self, run: SessionRun, pipeline: Coroutine[Any, Any, None]) -> None:
        session_id = run.session_id
        self._runs[session_id] = run
        task = asyncio.create_task(pipeline, name=f"exlab-{session_id}")
        self._tasks[session_id] = task
        task.add_done_callback(functools.partial(self._forget, session_id))

    # ---- after a restart (DESIGN §8) -----------------------------------------------
    async def adopt_waiting(self, session: Session) -> str | None:
        """Drive a restored INPUT_REQUIRED session again: it waits on its prompt; once
        answered its plugin runs again with the merged answers, in the folder already
        rendered, and the session goes on. Why it cannot, in words, otherwise."""
        run = await restarts.run_from_checkpoint(session, self._catalog, self._destinations)
        if isinstance(run, str):
            return run
        assert run.waiting is not None
        self._start(run, self._pipeline.go_on(run, dict(run.waiting.prompt.answers)))
        return None

    async def finish_recorded(self, session: Session, record: CreationRecord) -> None:
        """A restored session whose own record is on disk: finished (its sync queued)."""
        await restarts.finish_recorded(self._pipeline.last_steps, session, record)
        if self._sync is not None:
            self._follow_job(self._sync.for_session(session.session_id))

    async def discard_folder(self, session_id: str) -> JsonDict:
        """Remove the unfinished folder an ended (interrupted, failed) session left."""
        return await restarts.discard_folder(self._store, self._require_ended(session_id))

    async def start_again(self, session_id: str) -> JsonDict:
        """A new session with an ended session's request: a fresh run folder, or a
        project of the same name once its old folder is discarded."""
        session = self._require_ended(session_id)
        handle = await self.create(restarts.request_of(session))
        again = {**(session.outcome or {}), "started_again": handle["session_id"]}
        self._store.close(session_id, again)
        return handle

    def _require_ended(self, session_id: str) -> Session:
        session = self._store.get(session_id)
        if session is None:
            raise CreationError(codes.SESSION_NOT_FOUND, _no_session(session_id))
        if not session.is_terminal():
            raise CreationError(
                codes.SESSION_STILL_RUNNING,
                _("Session {id} has not ended yet.").format(id=session_id),
            )
        return session

    def _forget(self, session_id: str, _task: object = None) -> None:
        self._tasks.pop(session_id, None)
        run = self._runs.pop(session_id, None)
        if run is not None and run.reserved:
            self._destinations.release(run.destination)

    def _require_live(self, session_id: str) -> Session:
        session = self._store.get(session_id)
        if session is None:
            raise CreationError(codes.SESSION_NOT_FOUND, _no_session(session_id))
        if session.is_terminal():
            raise CreationError(
                codes.SESSION_ALREADY_COMPLETED,
                _("Session {id} has already ended ({state}).").format(
                    id=session_id, state=state_words(session.state)
                ),
            )
        return session

    def _plugin_workers(self) -> WorkerPool:
        """The pool keeping a spare plugin worker ready (made on first use)."""
        if self._worker_pool is None:
            self._worker_pool = WorkerPool()
            if not self._accepting:
                self._worker_pool.close_nowait()
        return self._worker_pool

    async def open_sync_queue(self) -> SyncQueue:
        """The NAS sync queue, opened on first use (jobs left from the last run go on)."""
        if self._sync is None:
            from tray_app.creation.sync.queue import SyncQueue

            self._sync = SyncQueue(
                options=options_from(self._settings),
                clock=self._store.clock,
                legacy_root=self._settings.nas_root_path(),
            )
            self._sync.add_observer(self._follow_job)
            for observer in self._sync_observers:
                self._sync.add_observer(observer)
        await self._sync.open()  # may raise; the next call tries again
        if not self._sync_caught_up:
            # Sessions restored from the journal may be behind their jobs (a stop between
            # a job's commit and the journal's, a copy resumed as queued): catch them up,
            # after the first open that succeeded (an earlier one may have failed).
            self._sync_caught_up = True
            for job in self._sync.jobs():
                self._follow_job(job)
        return self._sync

    def _follow_job(self, job: SyncJob | None) -> None:
        if self._sync is not None and job is not None:
            follow_job(self._store, self._sync, job)

    # ---- NAS sync ------------------------------------------------------------------
    def add_sync_observer(self, observer: SyncObserver) -> None:
        """Call ``observer(job)`` on the loop after each change of a sync job."""
        self._sync_observers.append(observer)
        if self._sync is not None:
            self._sync.add_observer(observer)

    def sync_summary(self) -> SyncSummary | None:
        """The queue at a glance; None when no folder is synced (no NAS in the settings)."""
        if self._sync is not None:
            return summarize(self._sync.jobs(), self._sync.problems)
        return summarize([]) if any_target(self._settings) else None

    def sync_jobs(self) -> list[SyncJob]:
        return self._sync.jobs() if self._sync is not None else []

    def sync_job_for(self, session_id: str) -> SyncJob | None:
        """The newest sync job of a session's folder."""
        return self._sync.for_session(session_id) if self._sync is not None else None

    async def retry_sync(self, job_id: str) -> SyncJob:
        """Retry now (any job; a synced one is copied and checked again)."""
        if self._sync is None or self._sync.get(job_id) is None:
            raise CreationError(
                codes.SYNC_JOB_NOT_FOUND, _("No sync job {id!r}.").format(id=job_id)
            )
        return await self._sync.retry(job_id)

    async def requeue_sync(self, ident: str) -> SyncJob:
        """Queue a folder again: ``ident`` is a sync job id (retried), a session id or a
        folder; a folder blocked by post-validation is validated again first."""
        if self._sync is not None and self._sync.get(ident) is not None:
            return await self._sync.retry(ident)
        session = self._store.get(ident)
        folder = Path(session.destination) if session and session.destination else Path(ident)
        if session is None and not folder.is_absolute():
            raise CreationError(
                codes.SYNC_JOB_NOT_FOUND,
                _("No sync job, session or folder {id!r}.").format(id=ident),
            )
        again = await asyncio.to_thread(check_again, folder)
        plan = plan_for(self._settings, again.equipment_id)
        if plan is None:
            raise CreationError(codes.SYNC_NOT_CONFIGURED, _("No NAS is set in the settings."))
        queue = await self.open_sync_queue()
        return await queue.enqueue(
            folder,
            plan,
            again.relative,
            session_id=again.session_id,
            equipment_id=again.equipment_id,
        )


def _no_session(session_id: str) -> str:
    return _("No session {id}.").format(id=session_id)
