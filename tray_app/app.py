"""Starting the desktop app: one QApplication and one qasync loop hosting the service, with
the tray on top (the app object itself: ``desktop_app.py``).

``main`` hands a second launch over to the running instance (it shows its sessions window),
shows the tray before anything slow, then runs until Quit or SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib
import json
import linecache
import logging
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from tray_app import logs

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from tray_app.api.runtime_file import RuntimeInfo
    from tray_app.config import LoadedSettings

_log = logging.getLogger("tray_app.app")

#: Process start, for the startup figures in the log (tray shown, API ready).
_T0 = time.perf_counter()

NO_TRAY_REASON = (
    "No system tray is available on this desktop (for example GNOME without the "
    "AppIndicator extension), so ExLab Tray shows this window instead. "
    "Closing it quits ExLab Tray."
)


def main(argv: list[str] | None = None, *, loaded: LoadedSettings | None = None) -> int:
    """The tray; ``loaded``: the settings the command line read already (for its language)."""
    options = parse_args(sys.argv[1:] if argv is None else argv)
    missing = missing_display()
    if missing:
        print(missing, file=sys.stderr)
        return 1
    if options.demo:
        from tray_app.demo import demo_home

        with demo_home() as home:
            print(f"ExLab Tray demo: EXLAB_TRAY_HOME={home}", flush=True)
            return _start(options, None)  # the demo's own settings, not the user's
    return _start(options, loaded)


def _start(options: argparse.Namespace, loaded: LoadedSettings | None) -> int:
    setup_logging()
    running = running_instance()
    if running is not None and activate_instance(running):
        print(f"ExLab Tray is already running (pid {running.pid}); showing its sessions.")
        return 0
    return run_app(options, loaded)


def missing_display() -> str | None:
    """A message when no desktop display can be reached (Qt would abort instead)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return (
        "exlab-tray: no desktop display found (neither DISPLAY nor WAYLAND_DISPLAY is set).\n"
        "Run it from a desktop session, or use 'exlab-tray serve' on a machine without one."
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The tray's options, from the one command line of ``tray_app.cli`` (strict: a typo
    is a usage error, exit 2, and never starts the tray)."""
    from tray_app import cli

    options = cli.parse(argv)
    if options.command is not None:
        raise SystemExit(cli.EXIT_USAGE)
    return options


def setup_logging() -> None:
    """Log to the shared rotating file (see :mod:`tray_app.logs`) and warnings to stderr."""
    logs.setup_logging()


# ---- single instance ------------------------------------------------------------------------


def running_instance() -> RuntimeInfo | None:
    """The live instance named by runtime.json, if any."""
    from tray_app.api import runtime_file

    info = runtime_file.read_runtime_info()
    if info is None or not runtime_file.pid_alive(info.pid) or info.pid == os.getpid():
        return None
    return info


def activate_instance(info: RuntimeInfo, timeout_s: float = 2.0) -> bool:
    """Ask the running instance to show its sessions window; False if it did not answer."""
    # Imported here, for a second launch only: urllib.request imports hashlib, which maps
    # OpenSSL's libcrypto into the tray (~3.4 MiB; see tray_app.api._aiohttp_import).
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{info.url}/api/v1/app/activate",
        data=b"{}",
        method="POST",
        headers={"Authorization": f"Bearer {info.token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return bool(200 <= response.status < 300)
    except urllib.error.HTTPError as exc:
        # 409 not_supported: a headless `serve` owns the API; the tray cannot start beside it.
        body = exc.read().decode("utf-8", "replace")
        with contextlib.suppress(ValueError):
            body = json.loads(body).get("error", {}).get("message", body)
        _log.warning("running instance (pid %s) refused activation: %s", info.pid, body)
        return exc.code == 409
    except (OSError, ValueError) as exc:
        _log.info("runtime.json names pid %s but it does not answer (%s)", info.pid, exc)
        return False


# ---- running the app ------------------------------------------------------------------------


def run_app(options: argparse.Namespace, loaded: LoadedSettings | None = None) -> int:
    # qasync must bind to PySide6 (it picks the first Qt binding it finds otherwise).
    os.environ.setdefault("QT_API", "pyside6")
    # The Qt-free half of the app before PySide6: once shiboken is imported, its import hook
    # (PySide's __feature__ check) reads the source of every module imported after it, looking
    # for "PySide6": ~50 ms of the start when the service's ~350 modules came after it. What
    # comes after reads its source without keeping it in linecache (keep_no_sources).
    importlib.import_module("tray_app.api.service")
    from PySide6.QtWidgets import QApplication

    from tray_app.ui.pyside_import_hook import keep_no_sources

    keep_no_sources()  # the hook's source reads stay out of linecache (see there)
    from tray_app.desktop_app import DesktopApp

    # argv[0] names the X11 window class; under `python -m` it would be "__main__.py".
    app = QApplication.instance() or QApplication(["exlab-tray"])
    assert isinstance(app, QApplication)
    configure_application(app)
    desktop = DesktopApp(app, demo=options.demo, loaded=loaded)
    settle_heap()
    with asyncio.Runner(loop_factory=_make_loop) as runner:
        try:
            return runner.run(desktop.run())
        except RuntimeError as exc:
            # Someone called QApplication.quit() (e.g. the session manager): the loop stopped
            # under us. Shut down properly on a fresh run of the same loop.
            _log.warning("event loop stopped early (%s); shutting down", exc)
            runner.run(desktop.shutdown())
            return 0


def settle_heap() -> None:
    """Once the app's modules and parts exist: drop what PySide's import hook read into
    linecache (a traceback reads its lines again if it needs them), and move every object
    alive now to the collector's permanent generation (``gc.freeze``).

    Without the freeze, the first full collection after start-up walked all of them on
    the loop thread: 38 ms of CPU in the middle of a store change -> menu repaint, the one
    outlier of that figure. Start-up garbage caught by the freeze stays (a few hundred
    objects, once).
    """
    linecache.clearcache()
    gc.freeze()


def _make_loop() -> asyncio.AbstractEventLoop:
    """The qasync loop, with the standard library's thread pool for ``asyncio.to_thread``.

    qasync's own default executor starts all ten of its QThreads on the first call and
    keeps them for the app's life (an idle tray had 14 threads); the standard pool starts
    a thread only when no idle one is free, with the same limit as ``serve``'s plain
    asyncio loop.
    """
    import qasync

    loop: asyncio.AbstractEventLoop = qasync.QEventLoop()
    loop.set_default_executor(ThreadPoolExecutor(thread_name_prefix="exlab-io"))
    return loop


def configure_application(app: QApplication) -> None:
    from tray_app.ui.icons import app_icon

    app.setApplicationName("exlab-tray")
    app.setApplicationDisplayName("ExLab Tray")
    app.setDesktopFileName("exlab-tray")
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(app_icon())


def __getattr__(name: str) -> Any:
    # DesktopApp moved to tray_app.desktop_app; imports written before still work, and
    # importing this module for main() does not load Qt.
    if name == "DesktopApp":
        from tray_app.desktop_app import DesktopApp

        return DesktopApp
    raise AttributeError(name)
