""" "Save a report for support…" in the tray menu: a save dialog that does not block the
loop, then the zip written off the loop and a notice saying where it is."""

from __future__ import annotations

import asyncio
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QFileDialog

from tests.qt.loop_helpers import wait_until
from tests.qt.tray_fixtures import failed
from tray_app.app import DesktopApp
from tray_app.ui.menu_model import Action, Command
from tray_app.ui.notifications import NullBackend
from tray_app.ui.tray import find_action


def said_report(backend: NullBackend) -> bool:
    return any("report" in notice.summary.lower() for notice in backend.shown)


@pytest.fixture
def desktop(make_app: Any) -> DesktopApp:
    app, _task = make_app()
    return app


def test_save_a_report_for_support_from_the_menu(
    tray_loop: asyncio.AbstractEventLoop, desktop: DesktopApp, tmp_path: Path
) -> None:
    failed(desktop.store, "Run broken", "Plugin crashed")
    action = find_action(desktop.tray.menu, "Save a report for support…")
    assert action is not None
    action.trigger()
    dialog = desktop.report_dialog
    assert isinstance(dialog, QFileDialog) and dialog.isVisible()
    assert dialog.acceptMode() is QFileDialog.AcceptMode.AcceptSave
    assert dialog.selectedFiles()[0].endswith(".zip")
    target = tmp_path / "for-it.zip"
    dialog.selectFile(str(target))
    dialog.accept()

    backend = desktop.notifier.backend
    assert isinstance(backend, NullBackend)
    wait_until(tray_loop, lambda: said_report(backend), timeout=20)
    notice = backend.shown[-1]
    assert notice.summary == "Report for support saved"
    assert str(target) in notice.body
    with zipfile.ZipFile(target) as archive:
        sessions = json.loads(archive.read("sessions.json"))
        versions = json.loads(archive.read("versions.json"))
        assert "settings/effective.json" in archive.namelist()
    assert sessions["by_state"] == {"failed": 1}
    assert sessions["newest"][0]["error"]["message"] == "Plugin crashed"
    assert versions["report_made_by"] == "tray" and versions["qt"]["qt"]


def test_a_report_that_cannot_be_written_is_a_notice_not_a_crash(
    tray_loop: asyncio.AbstractEventLoop, desktop: DesktopApp, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    desktop.dispatch(Action(Command.SAVE_REPORT))
    dialog = desktop.report_dialog
    dialog.selectFile(str(blocker / "r.zip"))
    dialog.accept()
    backend = desktop.notifier.backend
    assert isinstance(backend, NullBackend)
    wait_until(tray_loop, lambda: said_report(backend), timeout=20)
    assert backend.shown[-1].summary == "The report could not be saved"
    assert "Traceback" not in backend.shown[-1].body
