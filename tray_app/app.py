"""The desktop app: one QApplication and one qasync loop hosting the service, with the tray on top.

``main`` hands a second launch over to the running instance (it shows its sessions window),
shows the tray before anything slow, then runs until Quit or SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tray_app import logs, paths

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from tray_app.api.runtime_file import RuntimeInfo
    from tray_app.config import LoadedSettings
    from tray_app.ui.menu_model import Action
    from tray_app.ui.notifications import NotificationBackend

_log = logging.getLogger("tray_app.app")

#: Process start, for the startup figures in the log (tray shown, API ready).
_T0 = time.perf_counter()

NO_TRAY_REASON = (
    "No system tray is available on this desktop (for example GNOME without the "
    "AppIndicator extension), so ExLab Tray shows this window instead. "
    "Closing it quits ExLab Tray."
)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(sys.argv[1:] if argv is None else argv)
    missing = missing_display()
    if missing:
        print(missing, file=sys.stderr)
        return 1
    if options.demo:
        from tray_app.demo import demo_home

        with demo_home() as home:
            print(f"ExLab Tray demo: EXLAB_TRAY_HOME={home}", flush=True)
            return _start(options)
    return _start(options)


def _start(options: argparse.Namespace) -> int:
    setup_logging()
    running = running_instance()
    if running is not None and activate_instance(running):
        print(f"ExLab Tray is already running (pid {running.pid}); showing its sessions.")
        return 0
    return run_app(options)


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


def run_app(options: argparse.Namespace) -> int:
    # qasync must bind to PySide6 (it picks the first Qt binding it finds otherwise).
    os.environ.setdefault("QT_API", "pyside6")
    import qasync
    from PySide6.QtWidgets import QApplication

    # argv[0] names the X11 window class; under `python -m` it would be "__main__.py".
    app = QApplication.instance() or QApplication(["exlab-tray"])
    assert isinstance(app, QApplication)
    configure_application(app)
    desktop = DesktopApp(app, demo=options.demo)
    with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
        try:
            return runner.run(desktop.run())
        except RuntimeError as exc:
            # Someone called QApplication.quit() (e.g. the session manager): the loop stopped
            # under us. Shut down properly on a fresh run of the same loop.
            _log.warning("event loop stopped early (%s); shutting down", exc)
            runner.run(desktop.shutdown())
            return 0


def configure_application(app: QApplication) -> None:
    from tray_app.ui.icons import app_icon

    app.setApplicationName("exlab-tray")
    app.setApplicationDisplayName("ExLab Tray")
    app.setDesktopFileName("exlab-tray")
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(app_icon())


class DesktopApp:
    """Wires service, tray, notices, GC timer and quitting together on the running loop."""

    def __init__(
        self,
        app: QApplication,
        *,
        demo: bool = False,
        loaded: LoadedSettings | None = None,
        clock: Callable[[], Any] | None = None,
        tray_available: bool | None = None,
        quit_wait_s: float | None = None,
        api_port: int = 0,
    ) -> None:
        self.app = app
        self.demo = demo
        self._loaded = loaded
        self._clock = clock
        self._tray_available = tray_available
        self._quit_wait_s = quit_wait_s
        self._api_port = api_port
        self._finished: asyncio.Future[int] | None = None
        self._shutdown_task: asyncio.Task[None] | None = None
        self._last_error_notice = -1e9
        self._remove_observer: Callable[[], None] | None = None
        self.started = False
        self.tray_shown_s: float | None = None
        self.api_ready_s: float | None = None
        self.no_tray = False
        self.demo_task: asyncio.Task[Any] | None = None
        self._settings_window: Any = None
        self._settings_watcher: Any = None
        self._reloading: asyncio.Task[None] | None = None
        #: The running loop, for slots that Qt calls outside a loop turn.
        self._loop: asyncio.AbstractEventLoop | None = None

    # ---- lifecycle ---------------------------------------------------------------------------
    async def run(self) -> int:
        """Start, wait for Quit or a signal, shut down; the exit code."""
        code = await self.start()
        if code is None:
            assert self._finished is not None
            code = await self._finished
        await self.shutdown()
        return code

    async def start(self) -> int | None:
        """Bring everything up. Returns an exit code if the app must not run (another instance)."""
        loop = self._loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._loop_exception)
        # Closing a dialog or the sessions window must never end the app.
        self.app.setQuitOnLastWindowClosed(False)
        self._finished = loop.create_future()
        self._install_signal_handlers(loop)

        # The icon first: everything below imports the API server (aiohttp), which is slow.
        available = self.show_tray()
        await asyncio.sleep(0)

        from PySide6.QtCore import QTimer

        from tray_app.api.server import AnotherInstanceRunning
        from tray_app.api.service import ExlabService
        from tray_app.config import load_settings
        from tray_app.ui.quit import QUIT_WAIT_S, QuitCoordinator

        loaded = self._loaded or load_settings()
        self.loaded = loaded
        logs.set_level(loaded.settings.log_level)
        self._install_language(loaded.settings.language)
        service_kwargs: dict[str, Any] = {
            "activate_callback": self.activate,
            "port": self._api_port,
            # The render worker (Copier) starts when creating starts, not with the tray.
            "prewarm": False,
        }
        if self._clock is not None:
            service_kwargs["clock"] = self._clock
        self.service = ExlabService(loaded, **service_kwargs)
        self.store = self.service.store
        self.controller = self.service.controller
        self.tray.attach(self.store)

        self.quitter = QuitCoordinator(
            self.controller,
            self.store,
            wait_s=QUIT_WAIT_S if self._quit_wait_s is None else self._quit_wait_s,
        )
        self.quitter.waiting_changed.connect(
            lambda n: self.tray.set_flags(quitting=True, quitting_waiting_for=n)
        )
        self.quitter.finished.connect(self._quit_finished)

        try:
            await self.service.start()
        except AnotherInstanceRunning as exc:
            # Another instance won a start-up race: hand over to it.
            activate_instance(exc.info)
            self.tray.close()
            return 0
        self.api_ready_s = time.perf_counter() - _T0
        _log.info("startup: API ready after %.3f s at %s", self.api_ready_s, self.service.api.url)

        from tray_app.ui.notifications import choose_backend

        backend = await choose_backend(self.tray.icon if available else None)
        self._start_ui(available, backend)
        self.gc_timer = QTimer()
        self.gc_timer.setInterval(max(1, round(loaded.settings.gc_interval_s * 1000)))
        self.gc_timer.timeout.connect(self.run_gc)
        self.gc_timer.start()
        self._watch_settings()
        if self.demo:
            from tray_app.demo import open_demo_sessions

            self.demo_task = loop.create_task(open_demo_sessions(self.controller, self.store))
        self.started = True
        return None

    def _install_language(self, setting: str | None) -> None:
        """The message catalog and Qt's own translations for the chosen language."""
        from tray_app import i18n
        from tray_app.ui.qt_translations import install_qt_translations

        language = i18n.install(setting)
        for translator in getattr(self, "_qt_translators", []):
            self.app.removeTranslator(translator)
        self._qt_translators = install_qt_translations(self.app, language)
        _log.info("language: %s", language)

    def show_tray(self) -> bool:
        """Create the tray icon and show it if the desktop has a tray; True if it has one."""
        from PySide6.QtWidgets import QSystemTrayIcon

        from tray_app.ui.tray import Tray

        if getattr(self, "tray", None) is None:
            self.tray = Tray()
            self.tray.action_triggered.connect(self.dispatch)
        available = (
            QSystemTrayIcon.isSystemTrayAvailable()
            if self._tray_available is None
            else self._tray_available
        )
        if available and not self.tray.icon.isVisible():
            self.tray.icon.show()
            self.tray_shown_s = time.perf_counter() - _T0
            _log.info("startup: tray icon shown after %.3f s", self.tray_shown_s)
        return available

    def _start_ui(self, tray_available: bool, notices: NotificationBackend) -> None:
        from tray_app.ui.notifications import Notifier
        from tray_app.ui.session_actions import SessionActions

        self.actions = SessionActions(self.store, self.controller, self.loaded.settings)
        self.actions.failures_seen.connect(self.tray.mark_failures_seen)
        from tray_app.ui.notification_policy import NotificationPolicy

        self.notifier = Notifier(
            self.store,
            notices,
            self.dispatch,
            policy=NotificationPolicy(self.loaded.settings.notifications),
        )
        self.notifier.pause_changed.connect(
            lambda until: self.tray.set_flags(notifications_paused_until=until)
        )
        from tray_app.ui.pause_memory import remember_pause, restore_pause

        restore_pause(self.notifier, self.store.clock())
        self.notifier.pause_changed.connect(remember_pause)
        _log.info("notifications via %s", self.notifier.backend.name)
        self.tray.set_flags(
            autostart_enabled=_autostart_state(),
            settings_problems=tuple(str(p) for p in self.loaded.problems),
        )
        if self.loaded.problems:
            self._notice_settings_problems()
        self.actions.action_failed.connect(
            lambda _sid, message: self._notice("ExLab Tray could not do that", message)
        )
        if not tray_available:
            self.no_tray = True
            _log.warning("no system tray available: showing the sessions window instead")
            self.actions.set_quit_on_close(True)
            self.actions.quit_requested.connect(self.request_quit)
            self.actions.show_sessions_window(NO_TRAY_REASON)

    def run_gc(self) -> None:
        report = self.service.gc_once()
        if report.abandoned or report.evicted:
            _log.info("GC: abandoned %s, evicted %d", report.abandoned, report.evicted)

    # ---- quitting ----------------------------------------------------------------------------
    def request_quit(self, *, force: bool = False) -> None:
        """Quit as the menu's Quit does: wait for live sessions, then ask."""
        if self.started:
            self.quitter.request_quit(force=force)
        else:
            self._quit_finished()

    def _on_signal(self, signum: int) -> None:
        _log.info("signal %s: quitting", signal.Signals(signum).name)
        if not self.started:
            self._quit_finished()
            return
        from tray_app.ui.quit import SIGNAL_WAIT_S

        self.quitter.request_quit(wait_s=SIGNAL_WAIT_S)

    def _quit_finished(self) -> None:
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(0)

    async def shutdown(self) -> None:
        """Stop everything; safe to call more than once (the second call waits for the first)."""
        if self._shutdown_task is None:
            self._shutdown_task = asyncio.get_running_loop().create_task(self._shutdown())
        await asyncio.shield(self._shutdown_task)

    async def _shutdown(self) -> None:
        timer = getattr(self, "gc_timer", None)
        if timer is not None:
            timer.stop()
        if self._settings_watcher is not None:
            self._settings_watcher.stop()
        if self._reloading is not None and not self._reloading.done():
            await asyncio.wait([self._reloading], timeout=2)
        if self.demo_task is not None and not self.demo_task.done():
            self.demo_task.cancel()
            await asyncio.wait([self.demo_task], timeout=2)
        notifier = getattr(self, "notifier", None)
        if notifier is not None:
            await notifier.aclose()
        actions = getattr(self, "actions", None)
        if actions is not None:
            with contextlib.suppress(Exception):
                actions.close_all()
        service = getattr(self, "service", None)
        if service is not None:
            await service.stop(timeout=2.0)
        tray = getattr(self, "tray", None)
        if tray is not None:
            tray.close()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signum)
        _log.info("shut down")

    def _install_signal_handlers(self, loop: asyncio.AbstractEventLoop) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(signum, self._on_signal, signum)
            except (NotImplementedError, RuntimeError, ValueError):
                # Windows, or not the main thread: Quit from the menu still works.
                _log.debug("no handler for %s on this platform", signum)

    # ---- actions from the menu and from notices ----------------------------------------------
    def activate(self) -> None:
        """Another launch asked us to come forward (POST /app/activate)."""
        _log.info("activated by another launch: showing the sessions window")
        actions = getattr(self, "actions", None)
        if actions is not None:
            actions.show_sessions_window(NO_TRAY_REASON if self.no_tray else None)

    def dispatch(self, action: Action) -> None:
        from tray_app.ui.menu_model import Command

        if not self.started:
            _log.info("ignoring %s: still starting", action)
            return
        command, sid = action.command, action.session_id
        try:
            if command is Command.QUIT:
                self.request_quit()
            elif command is Command.OPEN_DATA_FOLDER:
                self.open_data_folder()
            elif command is Command.OPEN_SETTINGS:
                self.open_settings()
            elif command is Command.SHOW_SETTINGS_PROBLEMS:
                self.show_settings_window()
            elif command is Command.RELOAD_SETTINGS:
                self.reload_settings_soon()
            elif command is Command.TOGGLE_AUTOSTART:
                self.toggle_autostart()
            elif command is Command.NEW_PROJECT:
                self.service.warm_up_soon()
                self.actions.new_session("project")
            elif command is Command.NEW_RUN:
                self.service.warm_up_soon()
                self.actions.new_session("run")
            elif command is Command.SHOW_SESSIONS:
                self.actions.show_sessions_window(NO_TRAY_REASON if self.no_tray else None)
            elif command in _NOTIFICATION_COMMANDS:
                self._notification_command(command)
            elif command is Command.SAVE_REPORT:
                self.save_report()
            elif sid is not None:
                self._session_command(command, sid)
        except Exception as exc:
            _log.exception("menu action %s failed", action)
            self._notice("ExLab Tray could not do that", str(exc) or type(exc).__name__)

    def _notification_command(self, command: Any) -> None:
        from tray_app.ui.menu_model import Command
        from tray_app.ui.notification_policy import PauseChoice, pause_end

        if command is Command.RESUME_NOTIFICATIONS:
            self.notifier.resume()
            return
        hour = command is Command.PAUSE_NOTIFICATIONS_HOUR
        choice = PauseChoice.HOUR if hour else PauseChoice.TOMORROW
        self.notifier.pause(pause_end(choice, self.store.clock()))

    def save_report(self) -> None:
        """Ask where, then write the support report off the loop and say where it went."""
        from tray_app.ui.report_dialog import ask_and_save_report

        self.report_dialog = ask_and_save_report(
            self.store, self.controller, self.loaded, on_done=self._notice
        )

    def _session_command(self, command: Any, sid: str) -> None:
        from tray_app.ui.menu_model import Command

        if command is Command.OPEN_PROMPT:
            self.actions.open_prompt(sid)
        elif command is Command.SHOW_DETAILS:
            self.actions.show_details(sid)
        elif command is Command.CANCEL:
            self.actions.cancel(sid)
        elif command is Command.OPEN_FOLDER:
            self.actions.open_folder(sid)
        elif command is Command.COPY_DETAILS:
            self.actions.copy_details(sid)

    def open_data_folder(self) -> None:
        root = self.loaded.settings.local_root_path()
        root.mkdir(parents=True, exist_ok=True)
        _open_path(root)

    def open_settings(self) -> None:
        """The settings file in the desktop's editor; its path and problems if none opens it."""
        from tray_app.config import write_default_settings
        from tray_app.ui.settings_window import open_in_editor

        path = self.loaded.path
        if not path.exists():
            write_default_settings(path)

        def no_editor(reason: str) -> None:
            _log.warning("cannot open %s in an editor: %s", path, reason)
            self.show_settings_window(
                f"The settings file could not be opened in an editor: {reason}. "
                "Open it in any text editor; saved changes apply at once."
            )

        open_in_editor(path, no_editor)

    def show_settings_window(self, reason: str | None = None) -> Any:
        """The settings window: the file's path (Copy path, Open folder) and its problems."""
        from tray_app.ui.settings_window import SettingsWindow

        if self._settings_window is None:
            self._settings_window = SettingsWindow()
            self._settings_window.reload_requested.connect(self.reload_settings_soon)
        window = self._settings_window
        window.show_settings(self.loaded, reason)
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    # ---- settings reloaded after an edit -----------------------------------------------------
    def _watch_settings(self) -> None:
        from tray_app.ui.settings_watch import SettingsWatcher

        with contextlib.suppress(OSError):
            self.loaded.path.parent.mkdir(parents=True, exist_ok=True)
        self._settings_watcher = SettingsWatcher(self.loaded.watched_files())
        self._settings_watcher.changed.connect(self.reload_settings_soon)

    def reload_settings_soon(self) -> None:
        """Read the settings files again (off the loop) and apply them; one at a time."""
        if self._reloading is not None and not self._reloading.done():
            return
        if self._loop is None:
            return
        self._reloading = self._loop.create_task(
            self.reload_settings(), name="exlab-reload-settings"
        )

    async def reload_settings(self) -> None:
        from tray_app.config import load_settings

        before = [str(p) for p in self.loaded.problems]
        loaded = await asyncio.to_thread(
            load_settings, self.loaded.path, site_dir=self.loaded.site_dir
        )
        self.loaded = loaded
        self.service.apply_settings(loaded)
        self.actions.settings = loaded.settings
        self.notifier.policy.switches = loaded.settings.notifications
        logs.set_level(loaded.settings.log_level)
        self.gc_timer.setInterval(max(1, round(loaded.settings.gc_interval_s * 1000)))
        problems = [str(p) for p in loaded.problems]
        self.tray.set_flags(settings_problems=tuple(problems))
        _log.info("settings reloaded from %s (%d problems)", loaded.path, len(problems))
        if self._settings_window is not None and self._settings_window.isVisible():
            self._settings_window.show_settings(loaded)
        if problems and problems != before:
            self._notice_settings_problems()

    def toggle_autostart(self) -> None:
        from tray_app import autostart

        try:
            autostart.set_enabled(not autostart.is_enabled())
        except autostart.AutostartError as exc:
            self._notice("Start at login could not be changed", str(exc))
        self.tray.set_flags(autostart_enabled=autostart.is_enabled())

    # ---- surfacing problems ------------------------------------------------------------------
    def _notice_settings_problems(self) -> None:
        problems = self.loaded.problems
        lines = [str(p) for p in problems[:3]]
        if len(problems) > 3:
            lines.append(f"… and {len(problems) - 3} more")
        self._notice(
            "ExLab Tray settings have problems",
            "The rest of the settings apply.\n" + "\n".join(lines),
        )

    def _notice(self, summary: str, body: str) -> None:
        from tray_app.ui.notifications import Notice

        notifier = getattr(self, "notifier", None)
        if notifier is None:
            _log.warning("%s: %s", summary, body)
            return
        with contextlib.suppress(Exception):
            notifier.backend.show(Notice(summary, body, (), ()), lambda _key: None)

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """Log every unhandled loop error and tell the operator (at most once a minute)."""
        exception = context.get("exception")
        message = context.get("message", "unhandled error")
        _log.error("event loop: %s", message, exc_info=exception)
        now = time.monotonic()
        if now - self._last_error_notice < 60:
            return
        self._last_error_notice = now
        detail = f"{type(exception).__name__}: {exception}" if exception else message
        self._notice(
            "ExLab Tray hit an internal error",
            f"{detail}\nDetails are in {paths.log_dir() / 'exlab-tray.log'}.",
        )


_NOTIFICATION_COMMANDS = frozenset(
    {"pause_notifications_hour", "pause_notifications_tomorrow", "resume_notifications"}
)


def _open_path(path: os.PathLike[str] | str) -> None:
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices

    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
        raise OSError(f"no application could open {path}")


def _autostart_state() -> bool | None:
    """Whether the app starts at login; None hides the menu item (no autostart support)."""
    try:
        from tray_app import autostart
    except ImportError:
        return None
    try:
        # The entry may point at a command that moved (reinstall, new venv): fix it first.
        if autostart.repair():
            _log.info("start at login: entry now runs %s", autostart.launch_command())
        return bool(autostart.is_enabled())
    except Exception:
        _log.exception("cannot read the autostart state")
        return None
