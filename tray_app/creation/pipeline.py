"""One pipeline run per session (DESIGN §6): VALIDATING → RENDERING → PLUGIN_PASS (⇄
INPUT_REQUIRED) → CACHE_WRITE → POST_VALIDATE → SYNC_QUEUED → DONE, each step a method
here, state changed only through ``store.transition``. Blocking work runs in threads, the
render in the render worker, plugins in their own processes (``plugin_pass.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tray_app.config import Settings
from tray_app.creation import errors as codes
from tray_app.creation.destinations import DestinationClaimed, Destinations, project_folder
from tray_app.creation.disk_errors import disk_error
from tray_app.creation.errors import CreationError
from tray_app.creation.last_steps import LastSteps
from tray_app.creation.plugin_pass import PluginPass
from tray_app.creation.plugins.manifest import discover_plugins
from tray_app.creation.plugins.pool import WorkerPool
from tray_app.creation.readme import readme_text
from tray_app.creation.record import (
    CreationRecord,
    build_record,
    record_path,
    write_record,
)
from tray_app.creation.render import RenderError
from tray_app.creation.render_process import RenderProcess
from tray_app.creation.requests import RunRequest
from tray_app.creation.session_run import Abort, PipelineFailure, SessionRun
from tray_app.creation.sync import SyncJob, SyncPlan, plan_for
from tray_app.creation.sync.records import outcome_fields
from tray_app.creation.templates import TemplateCatalog, TemplateInfo
from tray_app.creation.validation import (
    FieldError,
    check_request,
    check_variables,
    standard_variables,
)
from tray_app.fileio import atomic_write_text
from tray_app.i18n import N_, _
from tray_app.sessions.session import JsonDict
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import SessionStore

if TYPE_CHECKING:
    from tray_app.creation.sync.queue import SyncQueue

__all__ = ["Pipeline"]

_log = logging.getLogger(__name__)


@dataclass
class Pipeline:
    """The steps every session of one controller goes through."""

    store: SessionStore
    settings: Settings
    catalog: TemplateCatalog = field(kw_only=True)
    renderer: RenderProcess = field(kw_only=True)
    #: The pool with a spare plugin worker (made on first use by the controller).
    workers: Callable[[], WorkerPool] = field(kw_only=True)
    #: The NAS sync queue (made on first use by the controller).
    sync_queue: Callable[[], Awaitable[SyncQueue]] = field(kw_only=True)
    plugin_pass: PluginPass = field(init=False)
    last_steps: LastSteps = field(init=False)

    def __post_init__(self) -> None:
        self.plugin_pass = PluginPass(self.store, self.settings, self.workers)
        self.last_steps = LastSteps(self.store, self.settings, self.sync_queue)

    async def run(self, run: SessionRun) -> None:
        """Drive one session to its end; never raises (every end is a state)."""
        await self._guarded(run, self._walk(run))

    async def go_on(self, run: SessionRun, answers: dict[str, Any]) -> None:
        """Drive a session restored while waiting on its prompt (``run.waiting``), from
        the answer on: its plugin again, the plugins after it, the rest of the walk."""
        await self._guarded(run, self._go_on(run, answers))

    async def _walk(self, run: SessionRun) -> None:
        session_id = run.session_id
        try:
            await self._validate(run)
        except CreationError as exc:
            self._end(session_id, SessionState.FAILED, {**exc.to_dict(), "path": None})
            run.validated.set_exception(exc)
            return
        run.validated.set_result(None)
        await self._render(run)
        if not await self.plugin_pass.run(run):
            await self._ended_elsewhere(run)
            return
        await self._finish(run)

    async def _go_on(self, run: SessionRun, answers: dict[str, Any]) -> None:
        if not await self.plugin_pass.go_on(run, answers):
            await self._ended_elsewhere(run)
            return
        await self._finish(run)

    async def _finish(self, run: SessionRun) -> None:
        """CACHE_WRITE → POST_VALIDATE → SYNC_QUEUED → DONE, once the plugins are through."""
        plan = plan_for(self.settings, run.request.equipment_id)
        sync_status = "queued" if plan is not None else "not_configured"
        await self._write_cache(run, sync_status)
        blocked = await self._post_validate(run)
        result = await self._queue_sync(run, plan, sync_status, blocked=blocked)
        self._end(run.session_id, SessionState.DONE, result)

    async def _guarded(self, run: SessionRun, steps: Coroutine[Any, Any, None]) -> None:
        """Await ``steps``; every way out of them ends the session properly."""
        session_id = run.session_id
        try:
            await steps
        except asyncio.CancelledError:
            await self._aborted(run)
        except PipelineFailure as failure:
            self._fail(run, failure.code, failure.message, failure.details)
        except OSError as exc:
            # Disk full, permission refused...: a failure with its own code and words.
            session = self.store.get(session_id)
            doing = _DOING.get(session.state if session else None, N_("creating the folder"))
            self._fail(run, *disk_error(exc, _(doing)))
        except Exception as exc:
            _log.exception("creation pipeline of session %s failed", session_id)
            self._fail(run, "internal_error", _("Unexpected error: {error}").format(error=exc))
        finally:
            if not run.validated.done():
                run.validated.set_result(None)

    # ---- how a run ends ------------------------------------------------------------
    def _end(self, session_id: str, state: SessionState, outcome: JsonDict) -> None:
        session = self.store.get(session_id)
        if session is not None and not session.is_terminal():
            self.store.transition(session_id, state, outcome=outcome)

    def _fail(
        self, run: SessionRun, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        path = run.path
        if path and run.record_written:
            # A failed session never leaves a folder that looks complete.
            with contextlib.suppress(OSError):
                os.unlink(record_path(Path(path)))
        if path:
            kept = _("The partial folder is kept at {path}.").format(path=path)
            message = f"{message} {kept}"
        outcome: JsonDict = {"code": code, "message": message, "path": path}
        if details:
            outcome["details"] = details
        self._end(run.session_id, SessionState.FAILED, outcome)

    async def _aborted(self, run: SessionRun) -> None:
        """Cancelled (operator or shutdown): ABORTED, then keep or remove the folder."""
        abort = run.abort or Abort("cancelled", _("Cancelled."))
        self._end(run.session_id, SessionState.ABORTED, abort.outcome(run.path))
        job = run.render_job
        if job is not None and not job.done():
            # A render thread cannot be stopped; let it finish before touching its files.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.shield(job)
        if abort.discard_files and run.claimed and run.destination is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.to_thread(shutil.rmtree, run.destination, ignore_errors=True)

    async def _ended_elsewhere(self, run: SessionRun) -> None:
        """Ended while waiting (the GC abandoned it): keep the files, name them in the outcome."""
        session = self.store.get(run.session_id)
        if session is not None and session.outcome is not None:
            self.store.close(
                run.session_id,
                {**session.outcome, "discard_files": False, "path": run.path},
            )

    # ---- VALIDATING ------------------------------------------------------------------
    def refusal(self, run: SessionRun) -> CreationError | None:
        """Why the request of ``run`` is refused, before any session exists; None if it is not.

        A refused request never becomes a session (no failed entry, notice or badge):
        the caller answers with this error instead.
        """
        _template, problems = self._problems(run)
        return _refused(problems) if problems else None

    async def _validate(self, run: SessionRun) -> None:
        self.store.transition(run.session_id, SessionState.VALIDATING)
        # Checked again with the session's id: standard variables name it.
        template, problems = self._problems(run)
        destination = run.destination
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
                run.claimed = True
        if problems:
            raise _refused(problems, run.session_id)
        run.template = template

    def _problems(self, run: SessionRun) -> tuple[TemplateInfo | None, list[FieldError]]:
        request = run.request
        template, problems = check_request(request, self.settings, self.catalog)
        destination = run.destination
        if destination is not None:
            problems.extend(self._destination_problems(run, destination))
            if template is not None:
                standard = standard_variables(
                    request,
                    self.settings,
                    session_id=run.session_id,
                    destination=destination,
                    created_at=run.created_at,
                )
                run.variables, variable_problems = check_variables(
                    template, standard, request.variables, self._plugin_variables(run, template)
                )
                problems.extend(variable_problems)
        return template, problems

    def _plugin_variables(
        self, run: SessionRun, template: TemplateInfo
    ) -> dict[str, dict[str, str]]:
        """The variables each of the template's plugins declares in its manifest.

        Read once per request (a few small files), so an edited manifest counts for the
        next one. A plugin that cannot be found declares nothing; the plugin pass reports it.
        """
        if not template.plugins:
            return {}
        if run.plugin_variables is None:
            manifests, _problems = discover_plugins(self.settings.plugin_paths())
            run.plugin_variables = {
                name: dict(manifests[name].variables)
                for name in template.plugins
                if name in manifests
            }
        return run.plugin_variables

    def _destination_problems(self, run: SessionRun, destination: Path) -> list[FieldError]:
        if not run.reserved:
            return [
                FieldError(
                    "destination_exists",
                    "project_name",
                    _("Another session is creating {path} right now.").format(path=destination),
                )
            ]
        if isinstance(run.request, RunRequest):
            project = project_folder(self.settings, run.request)
            if project is None or not project.is_dir():
                return [
                    FieldError(
                        "project_not_found",
                        "project_name",
                        f"Project {run.request.project_name!r} does not exist on "
                        f"{run.request.equipment_id} (looked for {project}).",
                    )
                ]
        if os.path.lexists(destination):
            return [_exists(destination)]
        return []

    # ---- RENDERING -------------------------------------------------------------------
    async def _render(self, run: SessionRun) -> None:
        self.store.transition(run.session_id, SessionState.RENDERING)
        assert run.template is not None and run.destination is not None
        if run.template.plugins:
            self.workers().warm()  # the first plugin's worker starts while we render
        job = asyncio.ensure_future(
            self.renderer.render(run.template.path, run.destination, run.variables)
        )
        run.render_job = job
        try:
            # Shielded: on cancel, _aborted waits for the render before cleaning up.
            await asyncio.shield(job)
        except RenderError as exc:
            raise PipelineFailure(
                exc.code, f"Rendering {run.template.name!r} failed: {exc}"
            ) from exc

    # ---- CACHE_WRITE -----------------------------------------------------------------
    def _record(self, run: SessionRun, sync_status: str) -> CreationRecord:
        return build_record(run, self.settings, sync_status, self._warnings(run))

    def _warnings(self, run: SessionRun) -> list[str]:
        # A live session is never evicted, so it is there for the whole run.
        return list(self.store.handle(run.session_id)["warnings"])

    async def _write_cache(self, run: SessionRun, sync_status: str) -> None:
        self.store.transition(run.session_id, SessionState.CACHE_WRITE)
        assert run.template is not None and run.destination is not None
        record = self._record(run, sync_status)
        readme = readme_text(
            run.variables, run.template.name, [(p.name, p.status) for p in run.plugins]
        )
        run.record_written = True  # set first: a write cut short may have landed
        await asyncio.to_thread(_write_cache_files, run.destination, record, readme)

    # ---- POST_VALIDATE ---------------------------------------------------------------
    async def _post_validate(self, run: SessionRun) -> bool:
        """Check the folder against the naming rules; True when sync must be blocked."""
        self.store.transition(run.session_id, SessionState.POST_VALIDATE)
        assert run.destination is not None
        run.findings = await self.last_steps.check_folder(
            run.session_id, run.destination, run.plugins
        )
        return bool(run.findings)

    # ---- SYNC_QUEUED -----------------------------------------------------------------
    async def _queue_sync(
        self, run: SessionRun, plan: SyncPlan | None, sync_status: str, *, blocked: bool
    ) -> JsonDict:
        """Queue the NAS copy; the record is written again only if its sync status changed."""
        self.store.transition(run.session_id, SessionState.SYNC_QUEUED)
        assert run.destination is not None
        status = sync_status
        job: SyncJob | None = None
        if blocked:
            status = "blocked_by_validation"
        elif plan is not None:
            # Durable before DONE; from here the queue keeps creation.json's sync status.
            status, job = await self.last_steps.queue_sync(
                run.session_id, run.destination, plan, run.request.equipment_id
            )
        if status != sync_status:
            await asyncio.to_thread(write_record, run.destination, self._record(run, status))
        result: JsonDict = {
            "path": str(run.destination),
            "sync_status": status,
            "warnings": self._warnings(run),
        }
        # From here on the controller keeps these keys following the job (outcome_fields).
        return result if job is None else {**result, **outcome_fields(job)}


def _exists(destination: Path) -> FieldError:
    return FieldError("destination_exists", "project_name", f"{destination} already exists.")


def _write_cache_files(destination: Path, record: CreationRecord, readme: str) -> None:
    # creation.json is the folder's commit marker: everything else is on disk first.
    has_readme = any(p.name.lower().startswith("readme") for p in destination.iterdir())
    if not has_readme:
        atomic_write_text(destination / "README.md", readme)
    write_record(destination, record)


#: What the pipeline was doing in each state, for a file-system error's words.
_DOING: dict[SessionState | None, str] = {
    SessionState.VALIDATING: N_("claiming the folder"),
    SessionState.RENDERING: N_("rendering the template"),
    SessionState.PLUGIN_PASS: N_("running the plugins"),
    SessionState.CACHE_WRITE: N_("writing the README and creation.json"),
    SessionState.POST_VALIDATE: N_("checking the folder"),
    SessionState.SYNC_QUEUED: N_("queueing the NAS sync"),
}


def _refused(problems: list[FieldError], session_id: str | None = None) -> CreationError:
    first = problems[0]
    message = (
        first.message
        if len(problems) == 1
        else (f"{len(problems)} problems: " + " ".join(p.message for p in problems))
    )
    details: dict[str, object] = {"errors": [p.to_dict() for p in problems]}
    if session_id is not None:
        details["session_id"] = session_id
    return CreationError(codes.VALIDATION_FAILED, message, field=first.field, details=details)
