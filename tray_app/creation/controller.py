"""CreationController: drives each creation session through the pipeline (DESIGN §6).

One asyncio task per session walks VALIDATING → RENDERING → PLUGIN_PASS (⇄
INPUT_REQUIRED) → CACHE_WRITE → POST_VALIDATE → SYNC_QUEUED → DONE, changing
state only through ``store.transition``. Blocking work runs in threads,
plugins in their own worker processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import platform
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tray_app import __version__ as app_version
from tray_app.config import Settings
from tray_app.creation import errors as codes
from tray_app.creation.destinations import DestinationClaimed, Destinations, project_folder
from tray_app.creation.errors import CreationError
from tray_app.creation.fields import Field, FieldSpecError, fields_to_dicts, parse_fields
from tray_app.creation.fields import validate_answers as validate_field_answers
from tray_app.creation.naming import find_unsafe_entries
from tray_app.creation.plugins.host import PluginResult, run_plugin
from tray_app.creation.plugins.manifest import PluginManifest, discover_plugins
from tray_app.creation.plugins.pool import WorkerPool
from tray_app.creation.readme import readme_text
from tray_app.creation.record import (
    CreationRecord,
    PathsRecord,
    PluginRecord,
    TemplateRecord,
    write_record,
)
from tray_app.creation.render import RenderError
from tray_app.creation.render_process import RenderProcess
from tray_app.creation.requests import (
    CreateRequest,
    ProjectRequest,
    RunRequest,
    request_to_dict,
)
from tray_app.creation.sync import SyncQueue
from tray_app.creation.templates import TemplateCatalog, TemplateInfo
from tray_app.creation.templates import import_parser as import_template_parser
from tray_app.creation.validation import (
    FieldError,
    check_request,
    check_variables,
    standard_variables,
)
from tray_app.fileio import atomic_write_text
from tray_app.sessions.session import JsonDict, iso_z
from tray_app.sessions.states import SessionKind, SessionState
from tray_app.sessions.store import SessionStore

__all__ = ["CreationController"]

_log = logging.getLogger(__name__)

#: How long aclose() waits for pipelines to wind down (render threads cannot be killed).
CLOSE_TIMEOUT_S = 10.0
#: Plugin statuses that are a problem (a warning, or FAILED when plugins are fatal).
_OK = "ok"


class _Failure(Exception):
    """Ends a pipeline in FAILED with a structured error."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


@dataclass
class _Abort:
    code: str
    message: str
    discard_files: bool = False


@dataclass
class _Waiting:
    """The prompt a session is waiting on, and the answers that resume it."""

    plugin: str
    fields: list[Field]
    answers: dict[str, Any] | None = None


@dataclass
class _Context:
    """Everything the pipeline task of one session knows."""

    session_id: str
    request: CreateRequest
    request_data: dict[str, Any]
    destination: Path | None
    reserved: bool
    created_at: datetime
    validated: asyncio.Future[None]
    template: TemplateInfo | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    claimed: bool = False
    render_job: asyncio.Future[None] | None = None
    plugins: list[PluginRecord] = field(default_factory=list)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    waiting: _Waiting | None = None
    abort: _Abort | None = None
    findings: list[str] = field(default_factory=list)


class CreationController:
    """Creates projects and runs as sessions of ``store``, per ``settings``."""

    def __init__(self, store: SessionStore, settings: Settings) -> None:
        self._store = store
        self._settings = settings
        self._catalog = TemplateCatalog(settings.template_paths())
        self._destinations = Destinations()
        self._contexts: dict[str, _Context] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._accepting = True
        self._sync: SyncQueue | None = None
        self._worker_pool: WorkerPool | None = None
        # Copier lives in this worker process, never in the tray's (see render_worker).
        self._renderer = RenderProcess()

    # ---- public surface ------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self._settings

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

    async def prewarm(self) -> None:
        """Start the render worker (it imports Copier) and import the template
        catalogue's parser in a thread now, so the first creation waits for neither.

        Also restarts NAS copies left unfinished when the app last stopped, and
        starts the spare plugin worker.
        """
        if self._settings.nas_root and self._sync is None:
            self._sync = SyncQueue()
            self._sync.start()
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
        context = self._contexts.get(session_id)
        waiting = context.waiting if context else None
        if session.state is not SessionState.INPUT_REQUIRED or waiting is None:
            raise CreationError(
                codes.NOT_AWAITING_INPUT,
                f"Session {session_id} is not waiting for input.",
            )
        if not isinstance(answers, dict):
            raise CreationError(
                codes.INVALID_ANSWERS,
                "Answers must be an object of field id to value.",
                details={"fields": {}},
            )
        coerced, problems = validate_field_answers(waiting.fields, answers)
        if problems:
            raise CreationError(
                codes.INVALID_ANSWERS,
                "Some answers need fixing: "
                + "; ".join(f"{key}: {why}" for key, why in problems.items()),
                field=next(iter(problems)),
                details={"fields": problems},
            )
        waiting.answers = coerced
        self._store.heartbeat(session_id)
        self._store.transition(session_id, SessionState.PLUGIN_PASS)
        return self._store.handle(session_id)

    async def cancel(self, session_id: str, discard_files: bool = False) -> JsonDict:
        """Abort a session: kill its plugin worker, then keep or remove its folder.

        Returns once the worker is gone and the files are handled.
        """
        self._require_live(session_id)
        context = self._contexts.get(session_id)
        task = self._tasks.get(session_id)
        if context is None or task is None or task.done():
            # Not driven by this controller (should not happen): just end it.
            self._store.transition(
                session_id,
                SessionState.ABORTED,
                outcome=_abort_outcome(_Abort("cancelled", "Cancelled.", discard_files), None),
            )
            return self._store.handle(session_id)
        context.abort = _Abort("cancelled", "Cancelled by the operator.", discard_files)
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
        pending = [t for t in self._tasks.values() if not t.done()]
        for session_id, task in list(self._tasks.items()):
            context = self._contexts.get(session_id)
            if context is not None and context.abort is None:
                context.abort = _Abort(
                    "shutdown", "ExLab Tray stopped before the session finished."
                )
            task.cancel()
        if pending:
            _done, still = await asyncio.wait(pending, timeout=timeout)
            if still:
                _log.warning("%d creation pipeline(s) did not stop in time", len(still))
        if self._sync is not None:
            await self._sync.aclose()
        if self._worker_pool is not None:
            await self._worker_pool.aclose()
        await self._renderer.aclose()

    def _plugin_workers(self) -> WorkerPool:
        """The pool keeping a spare plugin worker ready (made on first use)."""
        if self._worker_pool is None:
            self._worker_pool = WorkerPool()
            if not self._accepting:
                self._worker_pool.close_nowait()
        return self._worker_pool

    # ---- opening a session ---------------------------------------------------
    async def _create(self, kind: SessionKind, request: CreateRequest) -> JsonDict:
        if not self._accepting:
            raise CreationError(
                codes.SHUTTING_DOWN, "ExLab Tray is shutting down; no new sessions."
            )
        now = self._store.clock()
        destination, reserved = self._destinations.plan(self._settings, request, now)
        session = self._store.open(
            kind,
            request_to_dict(request),
            destination=str(destination) if destination is not None else None,
            title=_title(request),
        )
        context = _Context(
            session_id=session.session_id,
            request=request,
            request_data=request_to_dict(request),
            destination=destination,
            reserved=reserved,
            created_at=now,
            validated=asyncio.get_running_loop().create_future(),
        )
        self._contexts[session.session_id] = context
        task = asyncio.create_task(self._pipeline(context), name=f"exlab-{session.session_id}")
        self._tasks[session.session_id] = task
        task.add_done_callback(functools.partial(self._forget, session.session_id))
        # Shielded: a caller giving up on create() must not cancel the validation.
        await asyncio.shield(context.validated)
        return self._store.handle(session.session_id)

    def _forget(self, session_id: str, _task: object = None) -> None:
        self._tasks.pop(session_id, None)
        context = self._contexts.pop(session_id, None)
        if context is not None and context.reserved:
            self._destinations.release(context.destination)

    def _require_live(self, session_id: str) -> Any:
        session = self._store.get(session_id)
        if session is None:
            raise CreationError(codes.SESSION_NOT_FOUND, f"No session {session_id}.")
        if session.is_terminal():
            raise CreationError(
                codes.SESSION_ALREADY_COMPLETED,
                f"Session {session_id} has already ended ({session.state.value}).",
            )
        return session

    # ---- the pipeline --------------------------------------------------------
    async def _pipeline(self, context: _Context) -> None:
        session_id = context.session_id
        try:
            try:
                await self._validate(context)
            except CreationError as exc:
                self._end(session_id, SessionState.FAILED, {**exc.to_dict(), "path": None})
                context.validated.set_exception(exc)
                return
            context.validated.set_result(None)
            await self._render(context)
            if not await self._plugin_pass(context):
                await self._ended_elsewhere(context)
                return
            sync_status = "queued" if self._settings.nas_root else "not_configured"
            await self._write_cache(context, sync_status)
            blocked = await self._post_validate(context)
            result = await self._queue_sync(context, "blocked_by_validation" if blocked else None)
            self._end(session_id, SessionState.DONE, result)
        except asyncio.CancelledError:
            await self._aborted(context)
        except _Failure as failure:
            self._fail(context, failure.code, failure.message, failure.details)
        except Exception as exc:
            _log.exception("creation pipeline of session %s failed", session_id)
            self._fail(context, "internal_error", f"Unexpected error: {exc}")
        finally:
            if not context.validated.done():
                context.validated.set_result(None)

    def _end(self, session_id: str, state: SessionState, outcome: JsonDict) -> None:
        session = self._store.get(session_id)
        if session is not None and not session.is_terminal():
            self._store.transition(session_id, state, outcome=outcome)

    def _path(self, context: _Context) -> str | None:
        return str(context.destination) if context.claimed and context.destination else None

    def _fail(
        self, context: _Context, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        path = self._path(context)
        if path:
            message = f"{message} The partial folder is kept at {path}."
        outcome: JsonDict = {"code": code, "message": message, "path": path}
        if details:
            outcome["details"] = details
        self._end(context.session_id, SessionState.FAILED, outcome)

    async def _aborted(self, context: _Context) -> None:
        """Cancelled (operator or shutdown): ABORTED, then keep or remove the folder."""
        abort = context.abort or _Abort("cancelled", "Cancelled.")
        self._end(
            context.session_id, SessionState.ABORTED, _abort_outcome(abort, self._path(context))
        )
        job = context.render_job
        if job is not None and not job.done():
            # A render thread cannot be stopped; let it finish before touching its files.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.shield(job)
        if abort.discard_files and context.claimed and context.destination is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.to_thread(_remove_tree, context.destination)

    async def _ended_elsewhere(self, context: _Context) -> None:
        """Ended while waiting (the GC abandoned it): keep the files, name them in the outcome."""
        session = self._store.get(context.session_id)
        if session is not None and session.outcome is not None:
            self._store.close(
                context.session_id,
                {**session.outcome, "discard_files": False, "path": self._path(context)},
            )

    # ---- VALIDATING ----------------------------------------------------------
    async def _validate(self, context: _Context) -> None:
        self._store.transition(context.session_id, SessionState.VALIDATING)
        request = context.request
        template, problems = check_request(request, self._settings, self._catalog)
        destination = context.destination
        if destination is not None:
            problems.extend(self._destination_problems(context, destination))
            if template is not None:
                standard = standard_variables(
                    request,
                    self._settings,
                    session_id=context.session_id,
                    destination=destination,
                    created_at=context.created_at,
                )
                context.variables, variable_problems = check_variables(
                    template, standard, request.variables
                )
                problems.extend(variable_problems)
        if not problems and destination is not None:
            try:
                await asyncio.to_thread(Destinations.claim, destination)
            except DestinationClaimed:
                problems.append(_exists(destination))
            except OSError as exc:
                problems.append(
                    FieldError("destination_unwritable", "destination", f"{destination}: {exc}")
                )
            else:
                context.claimed = True
        if problems:
            first = problems[0]
            message = (
                first.message
                if len(problems) == 1
                else (f"{len(problems)} problems: " + " ".join(p.message for p in problems))
            )
            raise CreationError(
                codes.VALIDATION_FAILED,
                message,
                field=first.field,
                details={
                    "session_id": context.session_id,
                    "errors": [p.to_dict() for p in problems],
                },
            )
        context.template = template

    def _destination_problems(self, context: _Context, destination: Path) -> list[FieldError]:
        if not context.reserved:
            return [
                FieldError(
                    "destination_exists",
                    "project_name",
                    f"Another session is creating {destination} right now.",
                )
            ]
        if isinstance(context.request, RunRequest):
            project = project_folder(self._settings, context.request)
            if project is None or not project.is_dir():
                return [
                    FieldError(
                        "project_not_found",
                        "project_name",
                        f"Project {context.request.project_name!r} does not exist on "
                        f"{context.request.equipment_id} (looked for {project}).",
                    )
                ]
        if os.path.lexists(destination):
            return [_exists(destination)]
        return []

    # ---- RENDERING -----------------------------------------------------------
    async def _render(self, context: _Context) -> None:
        self._store.transition(context.session_id, SessionState.RENDERING)
        assert context.template is not None and context.destination is not None
        if context.template.plugins:
            self._plugin_workers().warm()  # the first plugin's worker starts while we render
        job = asyncio.ensure_future(
            self._renderer.render(context.template.path, context.destination, context.variables)
        )
        context.render_job = job
        try:
            # Shielded: on cancel, _aborted waits for the render before cleaning up.
            await asyncio.shield(job)
        except RenderError as exc:
            raise _Failure(exc.code, f"Rendering {context.template.name!r} failed: {exc}") from exc

    # ---- PLUGIN_PASS ---------------------------------------------------------
    async def _plugin_pass(self, context: _Context) -> bool:
        """Run the template's plugins in order; False when the session ended meanwhile."""
        session_id = context.session_id
        template = context.template
        assert template is not None
        self._store.transition(session_id, SessionState.PLUGIN_PASS)
        if not template.plugins:
            return True
        manifests, problems = await asyncio.to_thread(
            discover_plugins, self._settings.plugin_paths()
        )
        for problem in problems:
            _log.info("plugin discovery: %s", problem)
        total = len(template.plugins)
        for index, name in enumerate(template.plugins, start=1):
            self._store.report_progress(session_id, index, total, name)
            manifest = manifests.get(name)
            if manifest is None:
                record = PluginRecord(name=name, version=None, status="missing")
                # A broken manifest in a folder of that name explains more than "missing".
                related = [p for p in problems if f"{os.sep}{name}{os.sep}" in p]
                record.message = related[0] if related else "not installed in any plugin folder"
                context.plugins.append(record)
                self._plugin_problem(context, record)
                continue
            record = PluginRecord(name=name, version=manifest.version, status="running")
            context.plugins.append(record)
            if not await self._run_one_plugin(context, manifest, record):
                return False
            if record.status != _OK:
                self._plugin_problem(context, record)
        return True

    async def _run_one_plugin(
        self, context: _Context, manifest: PluginManifest, record: PluginRecord
    ) -> bool:
        """Run one plugin until it is done, asking the operator as often as it needs."""
        assert context.template is not None and context.destination is not None
        answers: dict[str, Any] = {}
        limit = self._settings.max_prompts_per_plugin
        while True:
            record.runs += 1
            payload = {
                "destination": str(context.destination),
                "request": context.request_data,
                "variables": context.variables,
                "answers": answers,
                "attempt": record.runs,
                "template": context.template.name,
            }
            result: PluginResult = await run_plugin(
                manifest, payload, context.destination, pool=self._plugin_workers()
            )
            record.duration_s = round(record.duration_s + result.duration_s, 6)
            if result.status != "input_required":
                record.status = result.status
                record.message = result.message
                record.files = list(result.files)
                return True
            if record.prompts >= limit:
                raise _Failure(
                    "too_many_prompts",
                    f"Plugin {record.name!r} asked for input more than {limit} times.",
                    {"plugin": record.name, "prompts": record.prompts},
                )
            try:
                fields = parse_fields(result.fields)
            except FieldSpecError as exc:
                record.status = "bad_output"
                record.message = f"unusable input fields: {exc.message}"
                return True
            record.prompts += 1
            new_answers = await self._ask(context, record, result.reason or "", fields, answers)
            if new_answers is None:
                return False
            answers = {**answers, **new_answers}
            context.answers[record.name] = answers

    async def _ask(
        self,
        context: _Context,
        record: PluginRecord,
        reason: str,
        fields: list[Field],
        answers: dict[str, Any],
    ) -> dict[str, Any] | None:
        """INPUT_REQUIRED until resume() answers (the answers) or the session ends (None)."""
        session_id = context.session_id
        prompt = {
            "plugin": record.name,
            "reason": reason,
            "fields": fields_to_dicts(fields),
            "attempt": record.prompts,
            "answers": dict(answers),
        }
        waiting = _Waiting(plugin=record.name, fields=fields)
        context.waiting = waiting
        try:
            self._store.await_input(session_id, prompt)
            # Resolved by resume() (→ PLUGIN_PASS) or by the GC or anyone else ending it.
            state = await self._store.next_transition(session_id)
        finally:
            context.waiting = None
        if state is SessionState.PLUGIN_PASS and waiting.answers is not None:
            return waiting.answers
        return None

    def _plugin_problem(self, context: _Context, record: PluginRecord) -> None:
        assert context.template is not None
        message = f"Plugin {record.name!r}: {record.status}"
        if record.message:
            message += f" ({record.message})"
        if context.template.plugins_fatal:
            raise _Failure(
                "plugin_failed",
                message + ".",
                {"plugin": record.name, "status": record.status},
            )
        self._store.warn(context.session_id, message + "; the session goes on without it.")

    # ---- CACHE_WRITE ---------------------------------------------------------
    def _record(self, context: _Context, sync_status: str) -> CreationRecord:
        assert context.template is not None and context.destination is not None
        session = self._store.get(context.session_id)
        local_root = self._settings.local_root_path()
        relative = _relative_to(context.destination, local_root)
        project = (
            context.destination
            if isinstance(context.request, ProjectRequest)
            else (context.destination.parent.parent)
        )
        return CreationRecord(
            session_id=context.session_id,
            kind=context.variables.get("exlab_kind", "run"),
            request=context.request_data,
            template=TemplateRecord(
                name=context.template.name,
                version=context.template.version,
                kind=context.template.kind,
                path=str(context.template.path),
            ),
            variables=context.variables,
            answers=context.answers,
            plugins=list(context.plugins),
            paths=PathsRecord(
                destination=str(context.destination),
                local_root=str(local_root),
                relative=relative,
                project=str(project),
            ),
            sync_status=sync_status,
            created_by=context.request.operator,
            created_at=iso_z(context.created_at),
            host=platform.node(),
            app_version=app_version,
            warnings=list(session.warnings) if session else [],
            findings=list(context.findings),
        )

    async def _write_cache(self, context: _Context, sync_status: str) -> None:
        self._store.transition(context.session_id, SessionState.CACHE_WRITE)
        assert context.template is not None and context.destination is not None
        record = self._record(context, sync_status)
        readme = readme_text(
            context.variables,
            context.template.name,
            [(p.name, p.status) for p in context.plugins],
        )
        await asyncio.to_thread(_write_cache_files, context.destination, record, readme)

    # ---- POST_VALIDATE -------------------------------------------------------
    async def _post_validate(self, context: _Context) -> bool:
        """Check the folder against the naming rules; True when sync must be blocked."""
        self._store.transition(context.session_id, SessionState.POST_VALIDATE)
        assert context.destination is not None
        findings = await asyncio.to_thread(find_unsafe_entries, context.destination)
        root = context.destination.resolve()
        for plugin in context.plugins:
            for name in plugin.files:
                produced = (context.destination / name).resolve()
                if not produced.is_relative_to(root):
                    findings.append(f"{name}: plugin {plugin.name!r} reported a file outside")
        context.findings = findings
        if findings:
            shown = "; ".join(findings[:3]) + ("; ..." if len(findings) > 3 else "")
            self._store.warn(
                context.session_id,
                f"Sync blocked: {len(findings)} problem(s) in the folder: {shown}",
            )
        return bool(findings)

    # ---- SYNC_QUEUED ---------------------------------------------------------
    async def _queue_sync(self, context: _Context, blocked_status: str | None) -> JsonDict:
        self._store.transition(context.session_id, SessionState.SYNC_QUEUED)
        assert context.destination is not None
        nas_root = self._settings.nas_root_path()
        status = blocked_status or ("queued" if nas_root else "not_configured")
        if blocked_status:
            await asyncio.to_thread(
                write_record, context.destination, self._record(context, status)
            )
        elif nas_root is not None:
            relative = _relative_to(context.destination, self._settings.local_root_path())
            try:
                if self._sync is None:
                    self._sync = SyncQueue()
                await self._sync.enqueue(
                    context.destination, nas_root / relative, session_id=context.session_id
                )
            except OSError as exc:
                status = "queue_failed"
                self._store.warn(context.session_id, f"Could not queue the NAS sync: {exc}")
                await asyncio.to_thread(
                    write_record, context.destination, self._record(context, status)
                )
        session = self._store.get(context.session_id)
        return {
            "path": str(context.destination),
            "sync_status": status,
            "warnings": list(session.warnings) if session else [],
        }


# ---- helpers -----------------------------------------------------------------


def _abort_outcome(abort: _Abort, path: str | None) -> JsonDict:
    return {
        "code": abort.code,
        "message": abort.message,
        "discard_files": abort.discard_files,
        "path": path,
    }


def _exists(destination: Path) -> FieldError:
    return FieldError("destination_exists", "project_name", f"{destination} already exists.")


def _title(request: CreateRequest) -> str:
    if isinstance(request, ProjectRequest):
        return f"Project {request.project_name} ({request.equipment_id})"
    kind = "Test run" if request.run_kind == "test" else "Run"
    return f"{kind} {request.label!r} of {request.project_name} ({request.equipment_id})"


def _relative_to(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def _write_cache_files(destination: Path, record: CreationRecord, readme: str) -> None:
    write_record(destination, record)
    has_readme = any(p.name.lower().startswith("readme") for p in destination.iterdir())
    if not has_readme:
        atomic_write_text(destination / "README.md", readme)


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
