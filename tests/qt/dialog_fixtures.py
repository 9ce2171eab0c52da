"""Shared fixtures for the dialog and sessions-window tests (import them from the test modules).

The tests step the shared qasync loop themselves (see ``tests.qt.loop_helpers``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from tests.qt.loop_helpers import loop_for_test, run, wait_until
from tray_app import paths
from tray_app.config import Equipment, Settings
from tray_app.sessions.store import SessionStore

EQUIPMENT = [Equipment(id="TECAN", name="Tecan Spark"), Equipment(id="HPLC", name="Agilent 1260")]


@pytest.fixture(name="qloop")
def qloop_fixture(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    # As in the app: a dialog closing must not quit the application (and stop the loop).
    qapp.setQuitOnLastWindowClosed(False)
    yield from loop_for_test(qapp)


@pytest.fixture(name="settings")
def settings_fixture(exlab_home: Path) -> Settings:
    resources = paths.resources_dir()
    root = exlab_home / "ExLab"
    root.mkdir()
    return Settings(
        local_root=str(root),
        template_dirs=[str(resources / "templates")],
        plugin_dirs=[str(resources / "plugins")],
        equipment=list(EQUIPMENT),
        operators=None,
    )


@pytest.fixture(name="controller")
def controller_fixture(
    store: SessionStore, settings: Settings, qloop: asyncio.AbstractEventLoop
) -> Iterator[Any]:
    from tray_app.creation.controller import CreationController

    ctl = CreationController(store, settings)
    yield ctl
    run(qloop, ctl.aclose(), timeout=10)


@pytest.fixture(name="widgets")
def widgets_fixture() -> Iterator[list[Any]]:
    """Top-level widgets that may delete themselves on close; closed at teardown if alive."""
    import shiboken6

    alive: list[Any] = []
    yield alive
    for widget in alive:
        if shiboken6.isValid(widget):
            widget.close()


def open_prompt(
    store: SessionStore,
    controller: Any,
    session_id: str,
    widgets: list[Any],
    *,
    show: bool = True,
    **options: Any,
) -> Any:
    """The session's prompt dialog (closing 30 ms after an end), kept in ``widgets`` for
    teardown, and shown unless ``show`` is False (a test that activates it itself)."""
    from tray_app.ui.prompt_dialog import PromptDialog

    options.setdefault("close_delay_ms", 30)
    dialog = PromptDialog(store, controller, session_id, **options)
    widgets.append(dialog)
    if show:
        dialog.show()
    return dialog


def is_alive(widget: Any) -> bool:
    import shiboken6

    return bool(shiboken6.isValid(widget)) and widget.isVisible()


def make_project_folder(settings: Settings, equipment: str, name: str) -> Path:
    folder = Path(settings.local_root) / equipment / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def start_waiting_run(
    loop: asyncio.AbstractEventLoop,
    controller: Any,
    store: SessionStore,
    settings: Settings,
    **variables: Any,
) -> str:
    """Create a real run whose plate_map plugin asks for input; return its session id."""
    from tray_app.creation.requests import RunRequest
    from tray_app.sessions.states import SessionState

    make_project_folder(settings, "TECAN", "Alpha")
    request = RunRequest(
        equipment_id="TECAN",
        project_name="Alpha",
        operator="ada",
        label="Plate 1",
        variables=variables,
    )
    session_id: str = run(loop, controller.create(request))["session_id"]

    def settled() -> bool:
        session = store.get(session_id)
        return session is not None and (
            session.state is SessionState.INPUT_REQUIRED or session.is_terminal()
        )

    wait_until(loop, settled)
    session = store.get(session_id)
    assert session is not None and session.state is SessionState.INPUT_REQUIRED, session
    return session_id


@pytest.fixture(name="waiting")
def waiting_fixture(
    qloop: asyncio.AbstractEventLoop, controller: Any, store: SessionStore, settings: Settings
) -> str:
    """A real run whose plate_map plugin waits for input: its session id."""
    return start_waiting_run(qloop, controller, store, settings)
