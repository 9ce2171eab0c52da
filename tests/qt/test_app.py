"""The whole desktop app in-process on a qasync loop: real service, API, pipeline and tray.

Covers the GC timer, every quit path (menu, waiting then Force quit / Wait, a session ending
while quitting, SIGTERM, SIGINT, the no-tray window), activation and the menu's wiring.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from tests.qt.loop_helpers import run, settle, wait_until
from tests.qt.tray_fixtures import START, waiting
from tests.support.clock import FakeClock
from tray_app import paths
from tray_app.api.runtime_file import read_runtime_info
from tray_app.app import NO_TRAY_REASON, DesktopApp, activate_instance
from tray_app.creation.requests import ProjectRequest, RunRequest
from tray_app.creation.wording import session_title
from tray_app.sessions.states import SessionState
from tray_app.ui.notifications import NullBackend
from tray_app.ui.tray import find_action


def finish(loop: asyncio.AbstractEventLoop, task: asyncio.Task[int], timeout: float = 15) -> int:
    return loop.run_until_complete(asyncio.wait_for(asyncio.shield(task), timeout))


def runtime_file() -> Path:
    return paths.runtime_file_path()


def trigger(desktop: DesktopApp, text: str) -> None:
    action = find_action(desktop.tray.menu, text)
    assert action is not None, text
    action.trigger()


async def waiting_run(desktop: DesktopApp) -> str:
    """A real run waiting for the plate_map plugin's answers (a live pipeline task)."""
    controller, store = desktop.controller, desktop.store
    project = await controller.create_project(
        ProjectRequest(equipment_id="DEMO", project_name="Quit-Test", operator="tester")
    )
    while not store.get(project["session_id"]).is_terminal():  # type: ignore[union-attr]
        await store.next_transition(project["session_id"])
    assert store.get(project["session_id"]).state is SessionState.DONE  # type: ignore[union-attr]
    handle = await controller.create_run(
        RunRequest(equipment_id="DEMO", project_name="Quit-Test", operator="tester", label="r1")
    )
    sid = handle["session_id"]
    while store.get(sid).state is not SessionState.INPUT_REQUIRED:  # type: ignore[union-attr]
        await store.next_transition(sid)
    return str(sid)


def test_start_publishes_the_api_and_menu_quit_exits_0(
    tray_loop: asyncio.AbstractEventLoop, make_app: Any
) -> None:
    desktop, task = make_app()
    info = read_runtime_info()
    assert info is not None and info.pid == os.getpid()
    assert desktop.tray.icon.toolTip() == "ExLab Tray: idle"
    assert isinstance(desktop.notifier.backend, NullBackend)
    trigger(desktop, "Quit")
    assert finish(tray_loop, task) == 0
    assert not runtime_file().exists()
    # Shutting down again (aboutToQuit-style repeats) is harmless.
    run(tray_loop, desktop.shutdown())
    run(tray_loop, asyncio.gather(desktop.shutdown(), desktop.shutdown()))


def test_gc_timer_aborts_an_abandoned_session(
    tray_loop: asyncio.AbstractEventLoop, make_app: Any
) -> None:
    clock = FakeClock(START)
    desktop, _task = make_app(clock=clock, settings={"gc_interval_s": 0.05, "abandon_after_s": 60})
    session = waiting(desktop.store, "Run forgotten")
    settle(tray_loop)
    assert desktop.tray.icon.toolTip() == "ExLab Tray: 1 needs input"
    clock.advance(seconds=59)
    passes: list[int] = []
    desktop.gc_timer.timeout.connect(lambda: passes.append(1))
    wait_until(tray_loop, lambda: len(passes) >= 2, timeout=5)
    # The timer ran, but the session is not old enough yet.
    assert session.state is SessionState.INPUT_REQUIRED
    clock.advance(seconds=2)
    wait_until(tray_loop, lambda: session.state is SessionState.ABORTED, timeout=5)
    assert session.result is not None and session.result["code"] == "session_abandoned"
    backend = desktop.notifier.backend
    assert isinstance(backend, NullBackend)
    wait_until(tray_loop, lambda: any("abandoned" in n.summary for n in backend.shown), timeout=5)
    assert desktop.tray.icon.toolTip() == "ExLab Tray: idle"


def test_quit_with_a_waiting_run_asks_at_once_naming_it(
    tray_loop: asyncio.AbstractEventLoop, make_app: Any
) -> None:
    desktop, task = make_app(quit_wait_s=30)
    sid = run(tray_loop, waiting_run(desktop), timeout=60)
    quitter = desktop.quitter
    trigger(desktop, "Quit")
    # At once: no silent wait first.
    assert quitter.waiting_question is not None
    text = quitter.waiting_question.text()
    assert "1 run is waiting for your input" in text
    assert session_title(desktop.store.get(sid)) in text

    # Don't quit: nothing changed, new sessions are still welcome.
    quitter.stay_button.click()  # type: ignore[union-attr]
    wait_until(tray_loop, lambda: quitter.waiting_question is None, timeout=5)
    assert not task.done() and not quitter.quitting
    assert desktop.controller.accepting

    # Answer now: the prompt opens, and the app keeps running.
    trigger(desktop, "Quit")
    quitter.answer_button.click()  # type: ignore[union-attr]
    wait_until(tray_loop, lambda: sid in desktop.actions.prompts, timeout=5)
    assert not task.done()
    desktop.actions.prompts[sid].close()

    # Quit: the waiting run is kept for the next start, nothing runs, so it quits now.
    trigger(desktop, "Quit")
    quitter.quit_button.click()  # type: ignore[union-attr]
    assert finish(tray_loop, task) == 0
    assert quitter.question is None  # no "Force quit / Wait": nothing was running
    assert not runtime_file().exists()


def test_quit_waits_for_a_running_session_naming_its_phase_then_finishes(
    tray_loop: asyncio.AbstractEventLoop, make_app: Any
) -> None:
    desktop, task = make_app(quit_wait_s=30)
    sid = run(tray_loop, waiting_run(desktop), timeout=60)
    desktop.request_quit()
    assert desktop.quitter.waiting_question is not None
    # Answered elsewhere (the API) while the question is open: the run works again.
    answers = {"sample_count": 8, "plate_type": "96-well", "prep_date": "2026-11-27"}
    run(tray_loop, desktop.controller.resume(sid, answers))
    desktop.quitter.quit_button.click()  # type: ignore[union-attr]
    assert finish(tray_loop, task, timeout=30) == 0
    assert desktop.quitter.question is None
    assert desktop.store.get(sid).state is SessionState.DONE  # type: ignore[union-attr]


SLOW_PLATE_MAP = """
import time


def run(payload):
    time.sleep(60)  # a plugin at work: Quit must wait for it, then ask
    return {"status": "ok"}
"""


def test_quit_waits_for_a_working_run_then_asks_naming_its_phase(
    tray_loop: asyncio.AbstractEventLoop, make_app: Any, tmp_path: Path
) -> None:
    plugins = tmp_path / "slow-plugins" / "plate_map"
    plugins.mkdir(parents=True)
    (plugins / "plugin.py").write_text(SLOW_PLATE_MAP)
    (plugins / "plugin.toml").write_text(
        'name = "plate_map"\nversion = "1.0.0"\nentry = "plugin.py"\ntimeout_s = 90\n'
        '[variables]\nsample_count = "optional"\nplate_type = "optional"\n'
        'prep_date = "optional"\n'
    )
    desktop, task = make_app(quit_wait_s=0.4, settings={"plugin_dirs": [str(plugins.parent)]})
    controller, store = desktop.controller, desktop.store

    async def working_run() -> str:
        project = await controller.create_project(
            ProjectRequest(equipment_id="DEMO", project_name="Slow", operator="tester")
        )
        while not store.get(project["session_id"]).is_terminal():  # type: ignore[union-attr]
            await store.next_transition(project["session_id"])
        handle = await controller.create_run(
            RunRequest(equipment_id="DEMO", project_name="Slow", operator="tester", label="r1")
        )
        while store.get(handle["session_id"]).state is not SessionState.PLUGIN_PASS:  # type: ignore[union-attr]
            await store.next_transition(handle["session_id"])
        return str(handle["session_id"])

    sid = run(tray_loop, working_run(), timeout=60)
    quitter = desktop.quitter
    trigger(desktop, "Quit")
    assert quitter.waiting_question is None  # nothing waits for input: no first question
    wait_until(tray_loop, lambda: quitter.question is not None, timeout=10)
    text = quitter.question.text()  # type: ignore[union-attr]
    assert "1 session is still running" in text
    assert f"{session_title(store.get(sid))}: " in text  # type: ignore[arg-type]
    assert "plugin" in text.lower()  # the phase it is in
    quitter.wait_button.click()  # type: ignore[union-attr]
    wait_until(tray_loop, lambda: quitter.question is None, timeout=5)
    wait_until(tray_loop, lambda: quitter.question is not None, timeout=10)
    quitter.force_button.click()  # type: ignore[union-attr]
    assert finish(tray_loop, task) == 0
    assert store.get(sid).state is SessionState.ABORTED  # type: ignore[union-attr]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_quits_within_5_seconds_despite_a_waiting_session(
    tray_loop: asyncio.AbstractEventLoop, make_app: Any, signum: signal.Signals
) -> None:
    desktop, task = make_app(quit_wait_s=30)
    sid = run(tray_loop, waiting_run(desktop), timeout=60)
    # Never send a signal the loop would not catch: it would end the test run.
    assert signum in tray_loop._signal_handlers  # type: ignore[attr-defined]
    started = time.monotonic()
    os.kill(os.getpid(), signum)
    assert finish(tray_loop, task, timeout=10) == 0
    assert time.monotonic() - started < 5.0
    assert desktop.quitter.question is None
    assert desktop.store.get(sid).state is SessionState.ABORTED  # type: ignore[union-attr]
    assert not runtime_file().exists()


def test_without_a_tray_the_sessions_window_stands_in_and_closing_it_quits(
    tray_loop: asyncio.AbstractEventLoop, make_app: Any
) -> None:
    desktop, task = make_app(tray_available=False)
    window = desktop.actions.sessions_window
    assert window is not None and window.isVisible()
    assert window.banner.text() == NO_TRAY_REASON
    assert not desktop.tray.icon.isVisible()
    window.close()
    assert finish(tray_loop, task) == 0
    assert not runtime_file().exists()


def test_activation_by_a_second_launch_shows_the_sessions_window(
    tray_loop: asyncio.AbstractEventLoop, make_app: Any
) -> None:
    desktop, _task = make_app()
    assert desktop.actions.sessions_window is None
    info = read_runtime_info()
    assert info is not None
    answered = run(tray_loop, asyncio.to_thread(activate_instance, info))
    assert answered
    wait_until(tray_loop, lambda: desktop.actions.sessions_window is not None, timeout=5)
    assert desktop.actions.sessions_window.isVisible()  # type: ignore[union-attr]


def test_menu_entries_reach_the_session_actions(
    tray_loop: asyncio.AbstractEventLoop, make_app: Any
) -> None:
    desktop, _task = make_app()
    session = waiting(desktop.store, "Run screen")
    settle(tray_loop)
    trigger(desktop, "Run screen: plate_map asks")
    assert session.session_id in desktop.actions.prompts
    trigger(desktop, "New project…")
    assert "project" in desktop.actions.new_dialogs
    trigger(desktop, "New run…")
    assert "run" in desktop.actions.new_dialogs
    trigger(desktop, "Sessions…")
    assert desktop.actions.sessions_window is not None


def test_settings_entry_writes_a_commented_default_file_first(
    tray_loop: asyncio.AbstractEventLoop, make_app: Any
) -> None:
    desktop, _task = make_app()
    path = desktop.loaded.path
    assert not path.exists()
    trigger(desktop, "Settings")
    assert path.exists()
    assert path.read_text(encoding="utf-8").lstrip().startswith("#")


def test_settings_problems_show_in_the_menu_and_as_a_notice(
    tray_loop: asyncio.AbstractEventLoop,
    qapp: QApplication,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EXLAB_TRAY_NOTIFICATIONS", "none")
    from tray_app.config import load_settings

    bad = paths.settings_path()
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text("gc_interval_s = 'often'\n", encoding="utf-8")
    loaded = load_settings()
    assert loaded.problems
    desktop = DesktopApp(qapp, loaded=loaded, tray_available=True)
    task = tray_loop.create_task(desktop.run())
    try:
        wait_until(tray_loop, lambda: desktop.started, timeout=20)
        assert find_action(desktop.tray.menu, "⚠ Settings file has 1 problem") is not None
        backend = desktop.notifier.backend
        assert isinstance(backend, NullBackend)
        assert backend.shown[0].summary == "ExLab Tray settings have problems"
    finally:
        desktop.request_quit(force=True)
        assert finish(tray_loop, task) == 0


def test_unhandled_loop_errors_are_logged_and_surfaced(
    tray_loop: asyncio.AbstractEventLoop, make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    desktop, _task = make_app()

    def broken() -> None:
        raise ZeroDivisionError("boom")

    with caplog.at_level(logging.ERROR, logger="tray_app.app"):
        tray_loop.call_soon(broken)
        settle(tray_loop)
    assert any("boom" in (r.exc_text or "") or r.exc_info for r in caplog.records)
    backend = desktop.notifier.backend
    assert isinstance(backend, NullBackend)
    notice = backend.shown[-1]
    assert notice.summary == "ExLab Tray hit an internal error"
    assert "ZeroDivisionError: boom" in notice.body


def test_start_at_login_toggles_the_autostart_entry(
    tray_loop: asyncio.AbstractEventLoop,
    make_app: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    from tray_app import autostart

    desktop, _task = make_app()
    entry = find_action(desktop.tray.menu, "Start at login")
    assert entry is not None and entry.isCheckable() and not entry.isChecked()
    entry.trigger()
    assert autostart.is_enabled()
    assert autostart.autostart_path().is_file()
    settle(tray_loop)
    entry = find_action(desktop.tray.menu, "Start at login")
    assert entry is not None and entry.isChecked()
    entry.trigger()
    assert not autostart.is_enabled()


def test_without_a_display_the_app_explains_instead_of_aborting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tray_app import app as app_module

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    if not sys.platform.startswith("linux"):
        pytest.skip("only Linux needs DISPLAY or WAYLAND_DISPLAY")
    assert app_module.main([]) == 1
    assert "no desktop display found" in capsys.readouterr().err
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert app_module.missing_display() is None
