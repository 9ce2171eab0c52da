"""Fixtures of the Qt tests: where their fake clock starts, the tray tests' names for the
suite's clock and store (``tray_*``), a qasync loop, a real desktop app (``make_app``),
and the dialog tests' settings, controller, waiting session and widgets
(``dialog_fixtures.py``).

Every Qt test shares one qasync loop (see ``loop_helpers.shared_qasync_loop``): a fresh
QEventLoop per test leaves Qt notifiers behind and crashes the process after a few dozen tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from tests.qt.dialog_fixtures import (  # noqa: F401 - fixtures for every Qt test, by name
    controller_fixture,
    qloop_fixture,
    settings_fixture,
    waiting_fixture,
    widgets_fixture,
)
from tests.qt.loop_helpers import loop_for_test, run, wait_until
from tests.qt.tray_fixtures import START, loaded_settings
from tests.support.clock import FakeClock
from tray_app.sessions.store import SessionStore


@pytest.fixture
def clock_start() -> datetime:
    return START


@pytest.fixture
def tray_clock(clock: FakeClock) -> FakeClock:
    """The suite's ``clock`` fixture (tests/conftest.py) under the tray tests' name."""
    return clock


@pytest.fixture
def tray_store(store: SessionStore) -> SessionStore:
    """The suite's ``store`` fixture (on ``clock``) under the tray tests' name."""
    return store


@pytest.fixture
def tray_loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """The shared qasync loop; a test's leftover tasks are cancelled and awaited with a bound."""
    yield from loop_for_test(qapp)


@pytest.fixture
def make_app(
    qapp: QApplication,
    tray_loop: asyncio.AbstractEventLoop,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    """Start a real DesktopApp on the shared loop: ``make_app(settings={...}, **options)``
    (``loaded=`` instead of settings for a settings file); each one is quit and shut
    down at teardown. No desktop notices: ``EXLAB_TRAY_NOTIFICATIONS=none``."""
    from tray_app.app import DesktopApp

    monkeypatch.setenv("EXLAB_TRAY_NOTIFICATIONS", "none")
    made: list[tuple[DesktopApp, asyncio.Task[int]]] = []

    def make(**kwargs: Any) -> tuple[DesktopApp, asyncio.Task[int]]:
        settings = kwargs.pop("settings", {})
        kwargs.setdefault("loaded", loaded_settings(tmp_path, **settings))
        kwargs.setdefault("tray_available", True)
        kwargs.setdefault("quit_wait_s", 0.4)
        desktop = DesktopApp(qapp, **kwargs)
        task = tray_loop.create_task(desktop.run())
        wait_until(tray_loop, lambda: desktop.started or task.done(), timeout=20)
        made.append((desktop, task))
        return desktop, task

    yield make
    for desktop, task in made:
        if not task.done():
            desktop.request_quit(force=True)
            run(tray_loop, asyncio.wait([task], timeout=10))
        run(tray_loop, desktop.shutdown(), timeout=15)
