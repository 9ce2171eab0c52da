"""Suite-wide test settings: no real display unless a test starts one, and
every test gets its own EXLAB_TRAY_HOME and XDG_CONFIG_HOME (the autostart
entry lives there) so nothing touches the user's files. Also the ``clock``
(a FakeClock from ``clock_start``) and ``store`` (a SessionStore on it) fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.support.clock import DEFAULT_START, FakeClock
from tray_app.sessions.store import SessionStore

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")


@pytest.fixture(autouse=True)
def exlab_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("exlab-home")
    monkeypatch.setenv("EXLAB_TRAY_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "xdg-config"))
    yield home


@pytest.fixture
def clock_start() -> datetime:
    """Where ``clock`` starts; a test folder's conftest overrides it to name its own moment."""
    return DEFAULT_START


@pytest.fixture
def clock(clock_start: datetime) -> FakeClock:
    return FakeClock(clock_start)


@pytest.fixture
def store(clock: FakeClock) -> SessionStore:
    return SessionStore(clock=clock)
