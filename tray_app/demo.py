"""``exlab-tray --demo``: the real app on a throwaway home, with a few real sessions to look at.

Two projects and a run finish, one run waits for the plate_map plugin's answers (several
field types), one run fails (its plugin asks more often than allowed), and one request is
refused (its project does not exist), which leaves no session.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tray_app.creation.errors import CreationError
from tray_app.creation.requests import ProjectRequest, RunRequest
from tray_app.paths import HOME_ENV
from tray_app.sessions.session import Session
from tray_app.sessions.store import SessionStore

_log = logging.getLogger(__name__)

EQUIPMENT = "DEMO"
OPERATOR = "demo-operator"
#: How long the demo waits for one of its sessions to reach its next stop.
STEP_TIMEOUT_S = 120.0
#: More than the prompt limit a plugin may reach (settings' max_prompts_per_plugin).
MAX_DEMO_PROMPTS = 20


@contextlib.contextmanager
def demo_home() -> Iterator[Path]:
    """``EXLAB_TRAY_HOME`` if set, else a fresh temporary folder (set before paths are read).

    A temporary folder is the demo's alone: it is removed when the demo quits, log file
    included (its handlers are closed first).
    """
    current = os.environ.get(HOME_ENV)
    if current:
        home = Path(current).expanduser()
        home.mkdir(parents=True, exist_ok=True)
        yield home
        return
    home = Path(tempfile.mkdtemp(prefix="exlab-tray-demo-"))
    os.environ[HOME_ENV] = str(home)
    try:
        yield home
    finally:
        root = logging.getLogger()
        for handler in list(root.handlers):
            filename = getattr(handler, "baseFilename", None)
            if filename and Path(filename).is_relative_to(home):
                root.removeHandler(handler)
                handler.close()
        shutil.rmtree(home, onerror=_report_leftover)
        del os.environ[HOME_ENV]


def _run(project: str, label: str, **fields: Any) -> RunRequest:
    """A demo run on the demo equipment, by the demo operator."""
    return RunRequest(
        equipment_id=EQUIPMENT, project_name=project, operator=OPERATOR, label=label, **fields
    )


def _report_leftover(_function: object, path: str, error: object) -> None:
    print(f"exlab-tray demo: could not remove {path}: {error}", file=sys.stderr)


async def open_demo_sessions(controller: Any, store: SessionStore) -> dict[str, str]:
    """Open the demo sessions; returns their ids by role (done/waiting/failed...)."""
    ids: dict[str, str] = {}
    today = dt.date.today().isoformat()

    projects = {
        "project_enzyme": ProjectRequest(
            equipment_id=EQUIPMENT,
            project_name="Enzyme-Kinetics",
            operator=OPERATOR,
            objective="Michaelis-Menten constants of the new lipase variants",
        ),
        "project_stability": ProjectRequest(
            equipment_id=EQUIPMENT,
            project_name="Stability-Study",
            operator=OPERATOR,
            objective="Six-month stability of formulation B",
        ),
    }
    for role, request in projects.items():
        ids[role] = (await controller.create_project(request))["session_id"]
    for role in projects:
        await _until_stopped(store, ids[role])

    calibration = _run(
        "Enzyme-Kinetics",
        "calibration",
        objective="Standard curve before the screen",
        variables={
            "sample_count": 24,
            "plate_type": "96-well",
            "prep_date": today,
            "include_controls": True,
        },
    )
    ids["run_done"] = (await controller.create_run(calibration))["session_id"]
    await _until_stopped(store, ids["run_done"])

    # No plate details: the plate_map plugin asks for them (integer, choice, date, bool, text).
    screen = _run("Stability-Study", "month-1 screen", objective="First monthly time point")
    ids["run_waiting"] = (await controller.create_run(screen))["session_id"]
    # Waiting before the failing run starts: its notice is the first, every time.
    await _until_stopped(store, ids["run_waiting"])

    # A request the checks refuse (its project does not exist) never becomes a session.
    orphan = _run("Old-Pilot", "re-run")
    try:
        await controller.create_run(orphan)
    except CreationError as exc:
        _log.info("demo: the request for a missing project was refused: %s", exc.message)

    # A run that really fails: 200 samples do not fit the 96-well plate it insists on,
    # so plate_map asks again until it reaches the prompt limit.
    crowded = _run(
        "Enzyme-Kinetics",
        "overfull plate",
        variables={"sample_count": 200, "plate_type": "96-well", "prep_date": today},
    )
    ids["run_failed"] = (await controller.create_run(crowded))["session_id"]
    same = {"sample_count": 200, "plate_type": "96-well", "prep_date": today}
    for _ in range(MAX_DEMO_PROMPTS):
        session = await _until_stopped(store, ids["run_failed"])
        if session is None or session.is_terminal():
            break
        await controller.resume(ids["run_failed"], same)

    await _until_stopped(store, ids["run_waiting"])
    _log.info("demo sessions: %s", ids)
    return ids


async def _until_stopped(store: SessionStore, session_id: str) -> Session | None:
    """Wait until the session is finished or waiting for input (bounded)."""
    async with asyncio.timeout(STEP_TIMEOUT_S):
        while True:
            session = store.get(session_id)
            if session is None or session.is_terminal() or session.pending_input is not None:
                return session
            await store.next_transition(session_id)
