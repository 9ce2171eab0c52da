"""Helpers for the tray app tests (their fixtures live in ``conftest.py``).

Tests are plain functions that step a qasync loop themselves: coroutines only advance inside
``loop.run_until_complete``, so waiting is an ``asyncio.sleep`` poll on the loop (never
``qtbot.wait`` inside a coroutine), and teardown waits for leftover tasks with a bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

from tray_app.config import LoadedSettings, Settings, default_settings
from tray_app.sessions.session import Session
from tray_app.sessions.states import SessionKind, SessionState
from tray_app.sessions.store import SessionStore

T = TypeVar("T")

#: Where the Qt tests' fake clocks start.
START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def run(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
    """Run one coroutine to its end on the qasync loop, bounded."""
    return loop.run_until_complete(asyncio.wait_for(coro, timeout))


def wait_until(
    loop: asyncio.AbstractEventLoop, predicate: Callable[[], bool], timeout: float = 30
) -> None:
    """Step the loop (tasks and Qt events) until ``predicate()`` holds; fail after ``timeout``."""

    async def poll() -> None:
        while not predicate():  # noqa: ASYNC110 - the predicate reads Qt state, not an event
            await asyncio.sleep(0.01)

    try:
        run(loop, poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"condition not met within {timeout} s") from None


def settle(loop: asyncio.AbstractEventLoop, turns: int = 3) -> None:
    """Let zero-delay timers and ready callbacks run a few loop turns."""

    async def spin() -> None:
        for _ in range(turns):
            await asyncio.sleep(0)

    run(loop, spin())


def loaded_settings(tmp_root: Any, **overrides: Any) -> LoadedSettings:
    """Default settings with the data folder under ``tmp_root`` and ``overrides`` applied."""
    import msgspec

    from tray_app import paths

    base = msgspec.to_builtins(default_settings())
    base["local_root"] = str(tmp_root / "ExLab")
    base.update(overrides)
    settings = msgspec.convert(base, Settings)
    return LoadedSettings(settings, paths.settings_path(), [], from_file=False)


# ---- building sessions in a given state, through the store's real transitions -----------------

_TO_PLUGINS = (SessionState.VALIDATING, SessionState.RENDERING, SessionState.PLUGIN_PASS)


def running(store: SessionStore, title: str = "Run calibration", **progress: Any) -> Session:
    session = store.open(SessionKind.RUN, {"project_name": "P"}, title=title)
    for state in _TO_PLUGINS:
        store.transition(session.session_id, state)
    if progress:
        store.report_progress(session.session_id, **progress)
    return session


def waiting(store: SessionStore, title: str = "Run screen", plugin: str = "plate_map") -> Session:
    session = running(store, title)
    store.await_input(
        session.session_id,
        {"plugin": plugin, "reason": "How many samples?", "fields": [], "attempt": 1},
    )
    return session


def done(store: SessionStore, title: str = "Project Alpha", destination: str = "/x") -> Session:
    session = store.open(SessionKind.PROJECT, {"project_name": "Alpha"}, title=title)
    session.destination = destination
    for state in (
        *_TO_PLUGINS,
        SessionState.CACHE_WRITE,
        SessionState.POST_VALIDATE,
        SessionState.SYNC_QUEUED,
    ):
        store.transition(session.session_id, state)
    store.transition(
        session.session_id,
        SessionState.DONE,
        outcome={"path": destination, "sync_status": "queued", "warnings": []},
    )
    return session


def failed(
    store: SessionStore, title: str = "Run broken", message: str = "Plugin crashed"
) -> Session:
    session = running(store, title)
    store.transition(
        session.session_id,
        SessionState.FAILED,
        outcome={"code": "plugin_crashed", "message": message},
    )
    return session


def aborted(store: SessionStore, title: str = "Run stopped", code: str = "cancelled") -> Session:
    session = running(store, title)
    store.transition(session.session_id, SessionState.ABORTED, outcome={"code": code})
    return session
