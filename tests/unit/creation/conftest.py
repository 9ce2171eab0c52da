"""Fixtures for the creation-pipeline tests: the clock's start, settings on temp folders,
and a controller that is closed after each test (``clock``/``store``: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from pipeline_helpers import START

from tray_app import paths
from tray_app.config import Equipment, Settings
from tray_app.creation.controller import CreationController
from tray_app.sessions.store import SessionStore


@pytest.fixture
def clock_start() -> datetime:
    return START


@pytest.fixture
def template_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    return folder


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "plugins"
    folder.mkdir()
    return folder


@pytest.fixture
def settings(tmp_path: Path, template_dir: Path, plugin_dir: Path) -> Settings:
    """Bundled templates and plugins first, then the test's own folders."""
    resources = paths.resources_dir()
    return Settings(
        local_root=str(tmp_path / "ExLab"),
        template_dirs=[str(resources / "templates"), str(template_dir)],
        plugin_dirs=[str(resources / "plugins"), str(plugin_dir)],
        equipment=[Equipment("DEMO", "Demo instrument"), Equipment("TECAN", "Tecan Spark")],
        operators=None,
    )


@pytest.fixture
async def controller(store: SessionStore, settings: Settings) -> AsyncIterator[CreationController]:
    ctl = CreationController(store, settings)
    yield ctl
    await ctl.aclose()
