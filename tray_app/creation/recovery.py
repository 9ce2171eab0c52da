"""What a start does with the sessions the journal kept, and with folders that no
session explains (DESIGN §8).

- A session waiting for input is handed back to the controller, still waiting.
- One that stopped while queueing its sync, with its record written, is finished.
- Any other live one ends ABORTED with reason code ``interrupted``, the phase it was
  in and its folder kept.
- A claimed folder (``.exlab-wizard/`` inside) without a valid ``creation.json`` and
  without a session is listed as an interrupted session "found on disk". Finding
  them is a bounded walk of the known layout, run in a thread.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tray_app.creation.record import RECORD_DIR, CreationRecord, valid_record
from tray_app.i18n import N_, _
from tray_app.sessions.session import JsonDict, Session
from tray_app.sessions.states import LIVE_STATES, Phase, SessionKind, SessionState
from tray_app.sessions.store import SessionStore

__all__ = [
    "INTERRUPTED",
    "FoundFolder",
    "Recovered",
    "find_unexplained_folders",
    "interrupted_outcome",
    "list_found",
    "offers_discard",
    "offers_start_again",
    "recover",
]

_log = logging.getLogger(__name__)

INTERRUPTED = "interrupted"


def _interrupted(session: Session) -> dict[str, Any] | None:
    outcome = session.outcome or {}
    return outcome if session.is_terminal() and outcome.get("code") == INTERRUPTED else None


def offers_discard(session: Session) -> bool:
    """An interrupted session whose unfinished folder is still there to discard."""
    outcome = _interrupted(session)
    return outcome is not None and bool(outcome.get("path")) and not outcome.get("discarded")


def offers_start_again(session: Session) -> bool:
    """An interrupted session not started again yet."""
    outcome = _interrupted(session)
    return outcome is not None and not outcome.get("started_again")


#: Entries the folder scan looks at, at most (a data root of many years stays quick).
SCAN_LIMIT = 50_000

#: The phase a session was in, as a person reads it ("while it was ...").
#: What a stop cut short, by the phase it was in (marked here, translated where worded).
_STOPPED_WHILE = {
    None: N_("ExLab Tray stopped while this session was waiting to start."),
    Phase.VALIDATING_INPUTS: N_("ExLab Tray stopped while this session was checking the request."),
    Phase.RENDERING_TEMPLATE: N_("ExLab Tray stopped while this session was creating the folders."),
    Phase.RUNNING_PLUGINS: N_("ExLab Tray stopped while this session was running plugins."),
    Phase.INPUT_REQUIRED: N_("ExLab Tray stopped while this session was waiting for input."),
    Phase.WRITING_CACHE: N_("ExLab Tray stopped while this session was writing its record."),
    Phase.VALIDATING_POST_CREATION: N_(
        "ExLab Tray stopped while this session was checking the new folder."
    ),
    Phase.QUEUEING_NAS_SYNC: N_("ExLab Tray stopped while this session was queueing the NAS sync."),
}
_STOPPED_WORKING = N_("ExLab Tray stopped while this session was working.")


class Adopter(Protocol):
    """What recovery needs of the controller."""

    async def adopt_waiting(self, session: Session) -> str | None:
        """Drive a restored waiting session again; a reason in words when it cannot."""

    async def finish_recorded(self, session: Session, record: CreationRecord) -> None:
        """Finish a session whose own record is written (``record``, read from its
        folder): what was left of checking the folder and queueing its sync, then DONE."""


@dataclass(slots=True)
class Recovered:
    """What a start did with the journal's live sessions."""

    waiting: list[str]
    interrupted: list[str]
    finished: list[str]


def interrupted_outcome(
    phase: Phase | None, path: str | None, *, found_on_disk: bool = False, why: str = ""
) -> JsonDict:
    """The ABORTED outcome of a session a stop or crash cut short."""
    if found_on_disk:
        message = _(
            "Found on disk: {path} was started but never finished, and no session "
            "remembers it (from before the journal, or its record was lost)."
        ).format(path=path)
    else:
        words = _STOPPED_WHILE.get(phase) or _STOPPED_WORKING
        message = _(words)
        if why:
            message += f" {why}"
        if path:
            message += " " + _("Its folder is kept at {path}.").format(path=path)
    return {
        "code": INTERRUPTED,
        "message": message,
        "phase": phase,
        "path": path,
        "discard_files": False,
        "found_on_disk": found_on_disk,
    }


def _interrupt(store: SessionStore, session: Session, folders: set[str], why: str = "") -> None:
    # The folder named is one that is there: a session stopped before claiming has none.
    path = session.destination if session.destination in folders else None
    outcome = interrupted_outcome(session.current_phase, path, why=why)
    store.transition(session.session_id, SessionState.ABORTED, outcome=outcome)


async def recover(store: SessionStore, controller: Adopter) -> Recovered:
    """Settle every live session in ``store`` (just restored, none driven yet)."""
    done = Recovered([], [], [])
    live = store.sessions(LIVE_STATES)
    folders, recorded = await asyncio.to_thread(_look, live)
    for session in live:
        # A valid record of its own means CACHE_WRITE was through, whatever phase the
        # journal had committed last (phase changes reach it up to 50 ms late).
        record = recorded.get(session.session_id)
        if record is not None:
            await controller.finish_recorded(session, record)
            done.finished.append(session.session_id)
            continue
        if session.state is SessionState.INPUT_REQUIRED:
            why = await controller.adopt_waiting(session)
            if why is None:
                done.waiting.append(session.session_id)
                continue
            _interrupt(store, session, folders, why)
        else:
            _interrupt(store, session, folders)
        done.interrupted.append(session.session_id)
    if done.waiting or done.interrupted or done.finished:
        _log.info(
            "restart: %d session(s) waiting again, %d interrupted, %d finished",
            len(done.waiting),
            len(done.interrupted),
            len(done.finished),
        )
    return done


def _look(sessions: list[Session]) -> tuple[set[str], dict[str, CreationRecord]]:
    """Blocking: the sessions' folders that exist, and by session id the valid
    creation.json its folder holds when that same session wrote it (read once here)."""
    folders: set[str] = set()
    recorded: dict[str, CreationRecord] = {}
    for session in sessions:
        path = session.destination
        if not path or not os.path.isdir(path):
            continue
        folders.add(path)
        record = valid_record(Path(path))
        if record is not None and record.session_id == session.session_id:
            recorded[session.session_id] = record
    return folders, recorded


# ---- folders found on disk ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FoundFolder:
    """A claimed folder without a valid record: where it is and what it was for."""

    path: str
    kind: SessionKind
    equipment_id: str
    project_name: str
    run_kind: str | None = None

    def request(self) -> dict[str, Any]:
        """A request that would make this folder again (for Start again)."""
        operator = _operator()
        if self.kind is SessionKind.PROJECT:
            return {
                "kind": "project",
                "equipment_id": self.equipment_id,
                "project_name": self.project_name,
                "operator": operator,
            }
        return {
            "kind": "run",
            "equipment_id": self.equipment_id,
            "project_name": self.project_name,
            "operator": operator,
            "label": Path(self.path).name,
            "run_kind": self.run_kind or "experimental",
        }


def find_unexplained_folders(
    local_root: Path, explained: set[str], *, limit: int = SCAN_LIMIT
) -> list[FoundFolder]:
    """Claimed folders under ``local_root`` without a valid creation.json and not in
    ``explained`` (destinations of known sessions). Blocking: run it in a thread.

    Walks only the layout ExLab makes (``<EQUIPMENT>/<Project>/{Runs,TestRuns}/<run>``)
    and stops after ``limit`` entries.
    """
    found: list[FoundFolder] = []
    budget = [limit]
    for equipment in _subfolders(local_root, budget):
        for project in _subfolders(equipment, budget):
            hit = _check(project, SessionKind.PROJECT, equipment.name, project.name, None)
            if hit is not None and str(project) not in explained:
                found.append(hit)
            for runs, run_kind in (("Runs", "experimental"), ("TestRuns", "test")):
                for run in _subfolders(project / runs, budget):
                    hit = _check(run, SessionKind.RUN, equipment.name, project.name, run_kind)
                    if hit is not None and str(run) not in explained:
                        found.append(hit)
    if budget[0] <= 0:
        _log.warning("folder scan of %s stopped after %d entries", local_root, limit)
    return found


def _subfolders(folder: Path, budget: list[int]) -> list[Path]:
    if budget[0] <= 0:
        return []
    try:
        with os.scandir(folder) as entries:
            result = []
            for entry in entries:
                budget[0] -= 1
                if budget[0] <= 0:
                    break
                if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False):
                    result.append(Path(entry.path))
            return sorted(result)
    except OSError:
        return []


def _check(
    folder: Path, kind: SessionKind, equipment: str, project: str, run_kind: str | None
) -> FoundFolder | None:
    if not (folder / RECORD_DIR).is_dir():
        return None  # not made by ExLab
    if valid_record(folder) is not None:
        return None  # complete
    return FoundFolder(str(folder), kind, equipment, project, run_kind)


def list_found(store: SessionStore, found: Iterable[FoundFolder]) -> list[str]:
    """Open each folder found as an interrupted session (on the loop); their ids.

    Skips folders a session took meanwhile (the scan ran in a thread).
    """
    known = {s.destination for s in store.sessions()}
    ids = []
    for folder in found:
        if folder.path in known:
            continue
        title = _("Found on disk: {name} ({equipment})").format(
            name=Path(folder.path).name, equipment=folder.equipment_id
        )
        session = store.open(folder.kind, folder.request(), destination=folder.path, title=title)
        outcome = interrupted_outcome(None, folder.path, found_on_disk=True)
        store.transition(session.session_id, SessionState.ABORTED, outcome=outcome)
        ids.append(session.session_id)
    return ids


def _operator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return "unknown"
