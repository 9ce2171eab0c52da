"""Helpers for the creation-pipeline tests: the clock's start, request builders, bounded
waits on session states, and builders for test templates and test plugins."""

from __future__ import annotations

import asyncio
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from tray_app.config import Settings
from tray_app.creation.controller import CreationController
from tray_app.creation.requests import ProjectRequest, RunRequest
from tray_app.sessions.session import Session
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import SessionStore

START = datetime(2026, 3, 1, 9, 0, 5, tzinfo=UTC)
#: What a test waits for a session at most before failing loudly.
WAIT_S = 20.0
PLATE_ANSWERS = {"sample_count": 12, "plate_type": "96-well", "prep_date": "2026-03-01"}


def with_settings(settings: Settings, **changes: Any) -> Settings:
    return msgspec.structs.replace(settings, **changes)


def project_request(name: str = "Glycan_Screen", **extra: Any) -> ProjectRequest:
    return ProjectRequest(
        equipment_id=extra.pop("equipment_id", "TECAN"),
        project_name=name,
        operator=extra.pop("operator", "ada"),
        **extra,
    )


def run_request(project: str = "Glycan_Screen", label: str = "plate 7", **extra: Any) -> RunRequest:
    return RunRequest(
        equipment_id=extra.pop("equipment_id", "TECAN"),
        project_name=project,
        operator=extra.pop("operator", "ada"),
        label=label,
        **extra,
    )


async def wait_state(
    store: SessionStore, session_id: str, *states: SessionState, limit_s: float = WAIT_S
) -> Session:
    """Await the session reaching one of ``states`` (no polling: each transition wakes us)."""
    async with asyncio.timeout(limit_s):
        while True:
            session = store.get(session_id)
            assert session is not None, "session vanished"
            if session.state in states:
                return session
            if session.is_terminal():
                raise AssertionError(
                    f"session ended {session.state.value} ({session.outcome}), "
                    f"wanted {[s.value for s in states]}"
                )
            await store.next_transition(session_id)


async def finish(store: SessionStore, session_id: str) -> Session:
    """Await the end of a session; returns it in DONE, FAILED or ABORTED."""
    async with asyncio.timeout(WAIT_S):
        while True:
            session = store.get(session_id)
            assert session is not None
            if session.is_terminal():
                return session
            await store.next_transition(session_id)


async def make_project(
    controller: CreationController, store: SessionStore, name: str = "Glycan_Screen"
) -> Path:
    handle = await controller.create_project(project_request(name))
    session = await finish(store, handle["session_id"])
    assert session.state is SessionState.DONE, session.outcome
    return Path(session.destination or "")


async def start_plugin_run(
    controller: CreationController,
    store: SessionStore,
    template_dir: Path,
    plugin_dir: Path,
    plugin: str,
    code: str,
) -> dict[str, Any]:
    """Install plugin ``plugin`` (module body ``code``) and a run template ``<plugin>-run``
    that runs only it, make the project, and start a run on that template: its handle."""
    write_plugin(plugin_dir, plugin, code)
    plugin_template(template_dir, f"{plugin}-run", [plugin])
    await make_project(controller, store)
    return await controller.create_run(run_request(template=f"{plugin}-run"))


def write_template(
    root: Path, name: str, copier_yml: str, files: dict[str, str] | None = None
) -> Path:
    """A Copier template folder ``root/name`` with ``copier.yml`` and ``files``."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "copier.yml").write_text(textwrap.dedent(copier_yml))
    for relative, text in (files or {}).items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
    return folder


def write_plugin(root: Path, name: str, code: str, *, timeout_s: float = 20.0) -> Path:
    """A plugin folder ``root/name`` whose ``run(payload)`` is ``code`` (a module body)."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "plugin.toml").write_text(
        f'name = "{name}"\nversion = "0.1"\ntimeout_s = {timeout_s}\nmemory_mb = 512\n'
    )
    (folder / "plugin.py").write_text(textwrap.dedent(code))
    return folder


def plugin_template(root: Path, name: str, plugins: list[str], *, fatal: bool = False) -> Path:
    """A run template that only runs ``plugins`` (and renders one file)."""
    listed = ", ".join(plugins)
    return write_template(
        root,
        name,
        f"""\
        _exlab_type: run
        _exlab_version: "0.1"
        _exlab_plugins: [{listed}]
        _exlab_plugins_fatal: {"true" if fatal else "false"}
        """,
        {"run.txt.jinja": "run {{ folder_name }} of {{ project_name }}\n"},
    )
