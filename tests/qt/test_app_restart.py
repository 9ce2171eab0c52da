"""The desktop app quit and started again on the same home: a run that waited for input
waits again, the tray says so once with Answer, and answering it finishes the run."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtWidgets import QApplication

from tests.qt.loop_helpers import run, settle, wait_until
from tests.qt.test_app import finish, waiting_run
from tests.qt.tray_fixtures import loaded_settings
from tray_app.app import DesktopApp
from tray_app.creation.record import read_record
from tray_app.sessions.states import SessionState
from tray_app.ui.notifications import NullBackend


def start(qapp: QApplication, loop: asyncio.AbstractEventLoop, root: Path):
    desktop = DesktopApp(qapp, loaded=loaded_settings(root), tray_available=True, quit_wait_s=0.4)
    task = loop.create_task(desktop.run())
    wait_until(loop, lambda: desktop.started or task.done(), timeout=20)
    assert desktop.started, task
    return desktop, task


async def answer_and_finish(desktop: DesktopApp, session_id: str, answers: dict) -> None:
    """Answer, then stay on the running loop until the run ends (its plugin runs again)."""
    await desktop.controller.resume(session_id, answers)
    session = desktop.store.get(session_id)
    assert session is not None
    while not session.is_terminal():
        await desktop.store.next_transition(session_id)


def test_a_waiting_run_is_asked_again_after_a_restart(
    qapp: QApplication, tray_loop: asyncio.AbstractEventLoop, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("EXLAB_TRAY_NOTIFICATIONS", "none")
    desktop, task = start(qapp, tray_loop, tmp_path)
    try:
        session_id = run(tray_loop, waiting_run(desktop), timeout=60)
        desktop.request_quit(force=True)  # Quit while it waits
        assert finish(tray_loop, task) == 0
    finally:
        run(tray_loop, desktop.shutdown(), timeout=15)

    again, task = start(qapp, tray_loop, tmp_path)
    try:
        session = again.store.get(session_id)
        assert session is not None and session.state is SessionState.INPUT_REQUIRED
        settle(tray_loop)
        assert again.tray.icon.toolTip() == "ExLab Tray: 1 needs input"
        backend = again.notifier.backend
        assert isinstance(backend, NullBackend)
        [notice] = [n for n in backend.shown if "needs your input" in n.summary]
        assert notice.summary == "1 run still needs your input"
        assert notice.actions == (("answer", "Answer"),)
        assert session.title in notice.body
        answers = {"sample_count": 8, "plate_type": "96-well", "prep_date": "2026-01-05"}
        run(tray_loop, answer_and_finish(again, session_id, answers), timeout=60)
        assert session.state is SessionState.DONE, session.outcome
        record = read_record(Path(session.result["path"]))  # type: ignore[index]
        assert record.answers["plate_map"]["sample_count"] == 8
        again.request_quit(force=True)
        assert finish(tray_loop, task) == 0
    finally:
        run(tray_loop, again.shutdown(), timeout=15)


def on_screen(backend: NullBackend) -> list[str]:
    """The summaries of the notices ``backend`` showed and did not take back."""
    return [n.summary for n in backend.shown if not any(n is w for w in backend.withdrawn)]


def test_after_a_restart_a_waiting_run_is_announced_once_not_twice(
    qapp: QApplication, tray_loop: asyncio.AbstractEventLoop, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("EXLAB_TRAY_NOTIFICATIONS", "none")
    desktop, task = start(qapp, tray_loop, tmp_path)
    try:
        session_id = run(tray_loop, waiting_run(desktop), timeout=60)
        before = desktop.notifier.backend
        assert isinstance(before, NullBackend)
        title = desktop.store.get(session_id).title  # type: ignore[union-attr]
        asked = f"Input needed: {title}"
        wait_until(tray_loop, lambda: asked in on_screen(before))
        desktop.request_quit(force=True)  # Quit while it waits
        assert finish(tray_loop, task) == 0
    finally:
        run(tray_loop, desktop.shutdown(), timeout=15)

    again, task = start(qapp, tray_loop, tmp_path)
    try:
        after = again.notifier.backend
        assert isinstance(after, NullBackend)
        # The positive event first: the restart notice is out. Then count what the
        # operator has on screen about the run, from before the restart and after it.
        wait_until(tray_loop, lambda: "1 run still needs your input" in on_screen(after))
        settle(tray_loop)
        assert [*on_screen(before), *on_screen(after)] == ["1 run still needs your input"]
        again.request_quit(force=True)
        assert finish(tray_loop, task) == 0
    finally:
        run(tray_loop, again.shutdown(), timeout=15)
