"""Fixtures of the tray app tests: a fake clock, a store on it, and a qasync loop.

Named ``tray_*`` so they never shadow the dialog tests' own fixtures. Every Qt
test shares one qasync loop (see ``loop_helpers.shared_qasync_loop``): a fresh
QEventLoop per test leaves Qt notifiers behind and crashes the process after a
few dozen tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication

from tests.qt.loop_helpers import loop_for_test
from tests.qt.tray_fixtures import START
from tests.support.clock import FakeClock
from tray_app.sessions.store import SessionStore


@pytest.fixture
def tray_clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def tray_store(tray_clock: FakeClock) -> SessionStore:
    return SessionStore(clock=tray_clock)


@pytest.fixture
def tray_loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """The shared qasync loop; a test's leftover tasks are cancelled and awaited with a bound."""
    yield from loop_for_test(qapp)
