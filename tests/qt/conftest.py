"""Fixtures of the tray app tests: a fake clock, a store on it, and a qasync loop.

Named ``tray_*`` so they never shadow the dialog tests' own fixtures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import qasync
from PySide6.QtWidgets import QApplication

from tests.qt.tray_fixtures import FakeClock
from tray_app.sessions.store import SessionStore


@pytest.fixture
def tray_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tray_store(tray_clock: FakeClock) -> SessionStore:
    return SessionStore(clock=tray_clock)


@pytest.fixture
def tray_loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync loop for one test; leftover tasks are cancelled and awaited with a bound."""
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=5))
    asyncio.set_event_loop(None)
    loop.close()
