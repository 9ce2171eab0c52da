"""Settings as an operator edits them, in the running app: a saved change applies without a
restart (file watcher), "Reload settings" does the same on demand, the problems entry and a
missing editor both lead to the settings window (path, Copy path, Open folder, problems)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QGuiApplication

from tests.qt.loop_helpers import run, wait_until
from tray_app import paths
from tray_app.app import DesktopApp
from tray_app.config import load_settings
from tray_app.creation.requests import ProjectRequest
from tray_app.sessions.states import SessionState
from tray_app.ui.tray import find_action

GOOD = """\
local_root = "{root}"

[[equipment]]
id = "TECAN_1"
name = "Tecan Spark"
"""

TYPO = (
    GOOD
    + """
abandon_after = 60

[[equipment]]
id = "HPLC_2"
name = "Agilent 1260"
"""
)


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = paths.settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(GOOD.format(root=tmp_path / "ExLab"), encoding="utf-8")
    return path


@pytest.fixture
def desktop(make_app: Any, settings_file: Path) -> DesktopApp:
    app, _task = make_app(loaded=load_settings())
    return app


def equipment_ids(app: DesktopApp) -> list[str]:
    return [e.id for e in app.controller.settings.equipment]


def trigger(app: DesktopApp, text: str) -> None:
    action = find_action(app.tray.menu, text)
    assert action is not None, text
    action.trigger()


def test_a_saved_change_applies_without_a_restart_with_its_problems_shown(
    tray_loop: asyncio.AbstractEventLoop, desktop: DesktopApp, settings_file: Path, tmp_path: Path
) -> None:
    assert equipment_ids(desktop) == ["TECAN_1"]
    assert find_action(desktop.tray.menu, "⚠ Settings file") is None
    # An editor's save: a new file renamed over the old one.
    draft = settings_file.with_suffix(".tmp")
    draft.write_text(TYPO.format(root=tmp_path / "ExLab"), encoding="utf-8")
    draft.replace(settings_file)
    wait_until(tray_loop, lambda: equipment_ids(desktop) == ["TECAN_1", "HPLC_2"], timeout=20)
    wait_until(tray_loop, lambda: find_action(desktop.tray.menu, "⚠ Settings file") is not None)
    assert desktop.tray.flags.settings_problems == (
        f"{settings_file}, line 7: equipment #1 has no setting `abandon_after` "
        "(`abandon_after_s` is a setting of its own: write it above the first [table] "
        "or [[table]] line); it is ignored",
    )
    # The new equipment is offered to new sessions too (the dialogs read these settings),
    # and a new session on it is created where the settings say.
    assert desktop.actions.settings.find_equipment("HPLC_2") is not None
    request = ProjectRequest(equipment_id="HPLC_2", project_name="Fresh", operator="ada")
    handle = run(tray_loop, desktop.controller.create_project(request))
    sid = handle["session_id"]
    wait_until(tray_loop, lambda: desktop.store.get(sid).state is SessionState.DONE)
    assert (tmp_path / "ExLab" / "HPLC_2" / "Fresh" / ".exlab-wizard" / "creation.json").is_file()

    # The fix is picked up the same way, and the problem goes.
    fixed = "abandon_after_s = 60\n" + TYPO.replace("abandon_after = 60", "")
    settings_file.write_text(fixed.format(root=tmp_path / "ExLab"), encoding="utf-8")
    wait_until(tray_loop, lambda: desktop.tray.flags.settings_problems == ())
    assert desktop.store.abandon_after.total_seconds() == 60
    assert find_action(desktop.tray.menu, "⚠ Settings file") is None


def test_reload_settings_in_the_menu_reads_the_file_again(
    tray_loop: asyncio.AbstractEventLoop, desktop: DesktopApp, settings_file: Path, tmp_path: Path
) -> None:
    desktop.settings_follower.watcher.stop()  # only the menu entry may notice this change
    settings_file.write_text(TYPO.format(root=tmp_path / "ExLab"), encoding="utf-8")
    assert equipment_ids(desktop) == ["TECAN_1"]
    trigger(desktop, "Reload settings")
    wait_until(tray_loop, lambda: equipment_ids(desktop) == ["TECAN_1", "HPLC_2"])


def test_the_problems_entry_shows_the_problems(
    tray_loop: asyncio.AbstractEventLoop, desktop: DesktopApp, settings_file: Path, tmp_path: Path
) -> None:
    settings_file.write_text(TYPO.format(root=tmp_path / "ExLab"), encoding="utf-8")
    wait_until(tray_loop, lambda: find_action(desktop.tray.menu, "⚠ Settings file") is not None)
    trigger(desktop, "⚠ Settings file has 1 problem")
    window = desktop.settings_follower.window
    assert window is not None and window.isVisible()
    assert window.problem_lines() == [str(p) for p in desktop.loaded.problems]
    assert "line 7" in window.problem_lines()[0]
    assert window.path.text() == str(settings_file)
    window.close()


def test_without_an_editor_settings_shows_the_path_with_copy_and_open_folder(
    tray_loop: asyncio.AbstractEventLoop,
    desktop: DesktopApp,
    settings_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A desktop where xdg-open finds no program for the file: it exits 3, as it does then.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "xdg-open"
    fake.write_text("#!/bin/sh\necho 'xdg-open: no method available' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    trigger(desktop, "Settings")
    wait_until(
        tray_loop,
        lambda: (
            desktop.settings_follower.window is not None
            and desktop.settings_follower.window.isVisible()
        ),
    )
    window: Any = desktop.settings_follower.window
    assert window.path.text() == str(settings_file)
    assert "could not be opened in an editor" in window.reason.text()
    window.copy_button.click()
    assert QGuiApplication.clipboard().text() == str(settings_file)
    assert window.folder_button.text() == "Open folder"
    window.close()
