"""Fixtures of the Qt tests: where their fake clock starts, the tray tests' names for the
suite's clock and store (``tray_*``), and a qasync loop.

Every Qt test shares one qasync loop (see ``loop_helpers.shared_qasync_loop``): a fresh
QEventLoop per test leaves Qt notifiers behind and crashes the process after a few dozen tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime

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
