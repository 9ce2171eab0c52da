"""Shared fixtures for the dialog and sessions-window tests (import them from the test modules).

The tests are plain functions that step a qasync loop themselves: coroutines
advance only inside ``loop.run_until_complete``, so :func:`wait_until` runs the
loop with an ``asyncio.sleep`` poll (never ``qtbot.wait`` inside a coroutine),
and teardown waits for leftover tasks with a bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import qasync
from PySide6.QtWidgets import QApplication

from tests.qt.tray_fixtures import START
from tests.support.clock import FakeClock
from tray_app import paths
from tray_app.config import Equipment, Settings
from tray_app.sessions.store import SessionStore

T = TypeVar("T")

EQUIPMENT = [Equipment(id="TECAN", name="Tecan Spark"), Equipment(id="HPLC", name="Agilent 1260")]


_shared_loop: asyncio.AbstractEventLoop | None = None


def _qasync_loop(qapp: QApplication) -> asyncio.AbstractEventLoop:
    # One qasync loop for all these tests: creating and closing a QEventLoop per test
    # leaves Qt socket notifiers and executor threads behind, and after a few
    # rounds the process crashed inside QApplication.exec().
    global _shared_loop  # noqa: PLW0603
    if _shared_loop is None or _shared_loop.is_closed():
        _shared_loop = qasync.QEventLoop(qapp)
        # Plain Python threads for asyncio.to_thread: qasync's default QThread pool
        # is never shut down here, and Qt aborts when QThreads outlive the app.
        _shared_loop.set_default_executor(ThreadPoolExecutor(4, thread_name_prefix="test-io"))
    return _shared_loop


@pytest.fixture(name="qloop")
def qloop_fixture(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    # As in the app: a dialog closing must not quit the application (and stop the loop).
    qapp.setQuitOnLastWindowClosed(False)
    loop = _qasync_loop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=5))
    asyncio.set_event_loop(None)


def run(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T], timeout: float = 15) -> T:
    """Run one coroutine to its end on the qasync loop, bounded."""
    return loop.run_until_complete(asyncio.wait_for(coro, timeout))


def wait_until(
    loop: asyncio.AbstractEventLoop, predicate: Callable[[], bool], timeout: float = 15
) -> None:
    """Step the loop (tasks and Qt events) until ``predicate()`` holds; fail after ``timeout``."""

    async def poll() -> None:
        while not predicate():  # noqa: ASYNC110 - the condition is plain state, not an event
            await asyncio.sleep(0.01)

    try:
        run(loop, poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"condition not met within {timeout} s") from None


def settle(loop: asyncio.AbstractEventLoop, turns: int = 3) -> None:
    """Let zero-delay timers and ready callbacks run a few loop turns."""

    async def spin() -> None:
        for _ in range(turns):
            await asyncio.sleep(0.005)

    run(loop, spin())


@pytest.fixture(name="clock")
def clock_fixture() -> FakeClock:
    return FakeClock(START)


@pytest.fixture(name="store")
def store_fixture(clock: FakeClock) -> SessionStore:
    return SessionStore(clock=clock, abandon_after=timedelta(hours=1))


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
