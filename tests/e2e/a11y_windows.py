"""Open the prompt dialog, the New run dialog and the sessions window on a real display with
Qt's AT-SPI bridge on, read them as a screen reader does, and take screenshots.

Run under ``dbus-run-session`` (the AT-SPI bus is started on that session bus) with
``QT_QPA_PLATFORM=xcb`` and ``QT_LINUX_ACCESSIBILITY_ALWAYS_ON=1``::

    python -m tests.e2e.a11y_windows OUTDIR

Reading happens in Debian's ``/usr/bin/python3`` (pyatspi is a system package, see
``atspi_tree.py``) while this process keeps its Qt loop running to answer it. Writes
``OUTDIR/trees.json`` and ``OUTDIR/<window>.png``; exits 0 when both were written.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_API", "pyside6")

import qasync
from PySide6.QtWidgets import QApplication, QWidget

from tray_app import paths
from tray_app.config import default_settings
from tray_app.creation.controller import CreationController
from tray_app.creation.requests import RunRequest
from tray_app.sessions.states import SessionKind, SessionState
from tray_app.sessions.store import SessionStore
from tray_app.ui.session_actions import SessionActions

SYSTEM_PYTHON = "/usr/bin/python3"
TREE_SCRIPT = Path(__file__).with_name("atspi_tree.py")

_STATES_TO_RUNNING = (SessionState.VALIDATING, SessionState.RENDERING, SessionState.PLUGIN_PASS)


def other_sessions(store: SessionStore) -> None:
    """A done, a failed and a running session beside the real waiting one."""
    done = store.open(SessionKind.PROJECT, {"project_name": "Alpha"}, title="Project Alpha")
    done.destination = str(paths.data_dir() / "ExLab" / "DEMO" / "Alpha")
    for state in (
        *_STATES_TO_RUNNING,
        SessionState.CACHE_WRITE,
        SessionState.POST_VALIDATE,
        SessionState.SYNC_QUEUED,
    ):
        store.transition(done.session_id, state)
    store.transition(done.session_id, SessionState.DONE, outcome={"path": done.destination})
    failed = store.open(SessionKind.RUN, {"project_name": "Alpha"}, title="Run Alpha plate 2")
    store.transition(failed.session_id, SessionState.VALIDATING)
    store.transition(
        failed.session_id,
        SessionState.FAILED,
        outcome={"code": "validation_failed", "message": "The label is too long."},
    )
    running = store.open(SessionKind.RUN, {"project_name": "Alpha"}, title="Run Alpha plate 3")
    for state in _STATES_TO_RUNNING:
        store.transition(running.session_id, state)


async def waiting_run(controller: CreationController, store: SessionStore) -> str:
    """A real run whose bundled plate_map plugin asks for input (a real render and worker)."""
    (paths.data_dir() / "ExLab" / "DEMO" / "Alpha").mkdir(parents=True, exist_ok=True)
    handle = await controller.create(
        RunRequest(equipment_id="DEMO", project_name="Alpha", operator="ada", label="plate 1")
    )
    session_id = str(handle["session_id"])
    async with asyncio.timeout(120):
        while True:
            session = store.get(session_id)
            assert session is not None
            if session.state is SessionState.INPUT_REQUIRED:
                return session_id
            if session.is_terminal():
                raise RuntimeError(f"the run ended {session.state}: {session.outcome}")
            await store.next_transition(session_id)


async def probe(outdir: Path) -> int:
    settings = default_settings()
    store = SessionStore()
    controller = CreationController(store, settings)
    actions = SessionActions(store, controller, settings)
    other_sessions(store)
    waiting = await waiting_run(controller, store)

    actions.show_sessions_window()
    actions.open_prompt(waiting)
    actions.new_session("run")
    await asyncio.sleep(0)
    windows: dict[str, QWidget] = {}
    for widget in QApplication.topLevelWidgets():
        if widget.isVisible() and widget.objectName() in (
            "prompt_dialog",
            "new_run_dialog",
            "sessions_window",
        ):
            windows[widget.objectName()] = widget
    positions = {
        "prompt_dialog": (20, 20),
        "new_run_dialog": (700, 20),
        "sessions_window": (20, 700),
    }
    for name, widget in windows.items():
        widget.move(*positions[name])

    # The reader waits until AT-SPI shows all three windows; our loop answers it meanwhile.
    reader = await asyncio.create_subprocess_exec(
        SYSTEM_PYTHON,
        str(TREE_SCRIPT),
        str(os.getpid()),
        *(w.windowTitle() for w in windows.values()),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(reader.communicate(), 120)
    if reader.returncode != 0:
        print(err.decode(errors="replace"), file=sys.stderr)
        return 1
    trees: dict[str, Any] = json.loads(out)
    trees["qt_windows"] = {name: w.windowTitle() for name, w in windows.items()}
    (outdir / "trees.json").write_text(json.dumps(trees, indent=1, ensure_ascii=False))
    for name, widget in windows.items():
        widget.raise_()
        widget.activateWindow()
        await asyncio.sleep(0.2)
        await asyncio.to_thread(
            subprocess.run,
            ["import", "-window", str(int(widget.winId())), str(outdir / f"{name}.png")],
            check=True,
            timeout=30,
        )
    actions.close_all()
    await controller.aclose()
    return 0


def main() -> int:
    outdir = Path(sys.argv[1])
    outdir.mkdir(parents=True, exist_ok=True)
    app = QApplication(["exlab-tray"])
    app.setApplicationName("exlab-tray")
    app.setQuitOnLastWindowClosed(False)
    with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
        return runner.run(probe(outdir))


if __name__ == "__main__":
    sys.exit(main())
