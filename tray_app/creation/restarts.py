"""Sessions from before a restart, for the controller's commands (DESIGN §8): a waiting
one rebuilt from its checkpoint to be driven again, one whose record was written
finished, and the two actions an interrupted one offers (Discard folder, Start again).
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import msgspec

from tray_app.creation import errors as codes
from tray_app.creation.destinations import Destinations
from tray_app.creation.disk_errors import disk_error
from tray_app.creation.errors import CreationError
from tray_app.creation.fields import FieldSpecError, parse_fields
from tray_app.creation.last_steps import LastSteps
from tray_app.creation.prompt import Prompt
from tray_app.creation.record import CreationRecord, PluginRecord, valid_record, write_record
from tray_app.creation.requests import CreateRequest, request_to_dict
from tray_app.creation.session_run import SessionRun, Waiting
from tray_app.creation.sync import plan_for
from tray_app.creation.templates import TemplateCatalog
from tray_app.i18n import _
from tray_app.sessions.session import JsonDict, Session
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import SessionStore

__all__ = [
    "discard_folder",
    "finish_recorded",
    "request_of",
    "run_from_checkpoint",
]

#: The walk forward to SYNC_QUEUED from wherever the journal last had the session.
_NEXT = {
    SessionState.PENDING: SessionState.VALIDATING,
    SessionState.VALIDATING: SessionState.RENDERING,
    SessionState.RENDERING: SessionState.PLUGIN_PASS,
    SessionState.INPUT_REQUIRED: SessionState.PLUGIN_PASS,
    SessionState.PLUGIN_PASS: SessionState.CACHE_WRITE,
    SessionState.CACHE_WRITE: SessionState.POST_VALIDATE,
    SessionState.POST_VALIDATE: SessionState.SYNC_QUEUED,
}


async def run_from_checkpoint(
    session: Session, catalog: TemplateCatalog, destinations: Destinations
) -> SessionRun | str:
    """The run of a restored INPUT_REQUIRED session, waiting on its prompt again; or
    why it cannot be picked up, in words."""
    checkpoint, wire = session.checkpoint, session.pending_input
    if checkpoint is None or wire is None or session.destination is None:
        return "It was waiting on a prompt that cannot be asked again."
    try:
        request = request_of(session)
        prompt = Prompt(
            plugin=str(wire["plugin"]),
            reason=str(wire.get("reason") or ""),
            fields=parse_fields(wire.get("fields") or []),
            attempt=int(wire.get("attempt") or 1),
            answers=dict(wire.get("answers") or {}),
        )
        plugins = msgspec.convert(checkpoint.get("plugins") or [], list[PluginRecord])
    except (CreationError, FieldSpecError, msgspec.ValidationError, KeyError, TypeError) as exc:
        return _("Its saved prompt could not be read ({error}).").format(error=exc)
    name = str(checkpoint.get("template"))
    template = await asyncio.to_thread(catalog.get, name)
    if template is None or not plugins or plugins[-1].name != prompt.plugin:
        return _("Its template {name!r} is no longer installed as it was.").format(name=name)
    destination = Path(session.destination)
    _path, reserved = destinations.reserve(destination)
    run = SessionRun(
        session_id=session.session_id,
        request=request,
        request_data=request_to_dict(request),
        destination=destination,
        reserved=reserved,
        created_at=session.created_at,
        validated=asyncio.get_running_loop().create_future(),
        template=template,
        variables=dict(checkpoint.get("variables") or {}),
        claimed=True,
        plugins=plugins,
        answers=dict(checkpoint.get("answers") or {}),
    )
    run.validated.set_result(None)
    run.waiting = Waiting(prompt)
    return run


async def finish_recorded(steps: LastSteps, session: Session, record: CreationRecord) -> None:
    """A restored session whose folder holds its own ``record`` (it stopped checking the
    folder or queueing its sync, or later than the journal knew): do what was left, with
    the pipeline's own last steps, and end it DONE."""
    assert session.destination is not None  # its record was read from there
    store, destination, session_id = steps.store, Path(session.destination), session.session_id
    status = record.sync_status
    findings = record.findings
    equipment_id = (session.request or {}).get("equipment_id")
    plan = plan_for(steps.settings, equipment_id)
    # Checked again unless its sync was blocked or queued before the stop: a session that
    # stopped in SYNC_QUEUED before its record said "blocked" must not be queued unchecked.
    queued_before = (
        session.state is SessionState.SYNC_QUEUED
        and plan is not None
        and await steps.queued_job(session_id) is not None
    )
    if status != "blocked_by_validation" and not queued_before:
        findings = await steps.check_folder(session_id, destination, record.plugins)
        if findings:
            status = "blocked_by_validation"
    if status == "queued" and plan is not None:
        status, _job = await steps.queue_sync(
            session_id, destination, plan, equipment_id, restarted=True
        )
    if status != record.sync_status:
        record = msgspec.structs.replace(record, sync_status=status, findings=findings)
        await asyncio.to_thread(write_record, destination, record)
    while session.state in _NEXT:
        store.transition(session_id, _NEXT[session.state])
    warnings = list(session.warnings)
    result = {"path": str(destination), "sync_status": status, "warnings": warnings}
    store.transition(session_id, SessionState.DONE, outcome=result)


def request_of(session: Session) -> CreateRequest:
    """The request an ended session was made from (for Start again)."""
    try:
        request: CreateRequest = msgspec.convert(session.request, CreateRequest)
    except msgspec.ValidationError as exc:
        raise CreationError(
            codes.VALIDATION_FAILED,
            _("The request of session {id} cannot be used again: {error}").format(
                id=session.session_id, error=exc
            ),
        ) from exc
    return request


async def discard_folder(store: SessionStore, session: Session) -> JsonDict:
    """Remove the folder an ended session left unfinished (never a complete one)."""
    outcome: dict[str, Any] = dict(session.outcome or {})
    path = outcome.get("path")
    if not path or outcome.get("discarded"):
        raise CreationError(
            codes.NOTHING_TO_DISCARD,
            _("Session {id} left no folder to discard.").format(id=session.session_id),
        )
    folder = Path(path)
    if await asyncio.to_thread(valid_record, folder) is not None:
        raise CreationError(
            codes.FOLDER_COMPLETE,
            _("{path} has a valid creation.json: it is a finished folder and is kept.").format(
                path=folder
            ),
        )
    try:
        await asyncio.to_thread(shutil.rmtree, folder)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise CreationError(*disk_error(exc, _("removing {path}").format(path=folder))) from exc
    store.close(session.session_id, {**outcome, "discarded": True, "discard_files": True})
    return store.handle(session.session_id)
