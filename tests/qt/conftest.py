"""Fixtures of the Qt tests: where their fake clock starts, the tray tests' names for the
suite's clock and store (``tray_*``), and a qasync loop.

Every Qt test shares one qasync loop (see ``loop_helpers.shared_qasync_loop``): a fresh
QEventLoop per test leaves Qt notifiers behind and crashes the process after a few dozen tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from tests.qt.loop_helpers import loop_for_test
from tests.qt.tray_fixtures import START
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


QT_TESTS = Path(__file__).resolve().parent


#: The fixtures that step the shared qasync loop between pytest-qt's own event processing.
LOOP_FIXTURES = frozenset({"qloop", "tray_loop"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """One retry, for the Qt tests that step the shared qasync loop, and only those.

    Why: between ``run_until_complete`` calls pytest-qt processes Qt events itself;
    a qasync callback that lands there steps a task with no running loop
    ("no running event loop" from ``asyncio.to_thread``). The app never runs Qt
    events outside its loop, so this is the harness, not the product; it showed
    up about once in ten runs with the CPU saturated. Tests that use no loop
    fixture (widgets, icons) cannot meet it and get no retry. A test that fails
    twice still fails.
    """
    for item in items:
        if QT_TESTS not in Path(str(item.path)).resolve().parents:
            continue
        if LOOP_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.flaky(reruns=1))
