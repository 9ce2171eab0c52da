"""The desktop app object: the service, the tray, notices, the GC timer and quitting, wired
together on the running qasync loop; what each menu and notice command does is one table.

``tray_app.app`` starts it (a second launch hands over to the running instance first).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tray_app import logs
from tray_app.app import _T0, NO_TRAY_REASON, activate_instance
from tray_app.app_settings import SettingsFollower
from tray_app.creation.sync import any_target
from tray_app.desktop_parts import Options as _Options
from tray_app.desktop_parts import Part as _Part
from tray_app.desktop_parts import Parts as _Parts
from tray_app.desktop_parts import autostart_menu_state
from tray_app.loop_errors import LoopErrors
from tray_app.stop_signals import drop_stop_signals, on_stop_signals
from tray_app.ui.menu_model import Action, Command
from tray_app.ui.notification_policy import PauseChoice, pause_end
from tray_app.ui.session_actions import SessionActions
from tray_app.ui.sync_watch import follow_sync
from tray_app.ui.tray import Tray

if TYPE_CHECKING:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from tray_app.api.service import ExlabService
    from tray_app.config import LoadedSettings
    from tray_app.creation.controller import CreationController
    from tray_app.sessions.store import SessionStore
    from tray_app.ui.notifications import NotificationBackend, Notifier
    from tray_app.ui.quit import QuitCoordinator

_log = logging.getLogger("tray_app.app")


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
        # How this app was asked to run (tests and benchmarks set them; None: the default).
        self._options = _Options(loaded, clock, tray_available, quit_wait_s, api_port)
        self._finished: asyncio.Future[int] | None = None
        self._shutdown_task: asyncio.Task[None] | None = None
        #: What start() brings up (service, store, controller, UI parts); None before.
        self._parts: _Parts | None = None
        self.started = False
        self.tray_shown_s: float | None = None
        self.api_ready_s: float | None = None
        self.no_tray = False
        self.demo_task: asyncio.Task[Any] | None = None
        self.settings_follower = SettingsFollower(self)
        #: The running loop, for slots that Qt calls outside a loop turn.
        self.loop: asyncio.AbstractEventLoop | None = None
        self.report_dialog: Any = None
        self.sync_watch: Any = None  # the tray's view of the NAS sync queue (start() makes it)
        self._qt_translators: list[Any] = []
        # The icon exists from the start (shown by show_tray): it comes before anything slow.
        self.tray = Tray()
        self.tray.action_triggered.connect(self.dispatch)
        #: What each menu and notice command does; session commands get the session id.
        self._commands: dict[Command, Callable[[Action], None]] = {
            Command.QUIT: lambda _a: self.request_quit(),
            Command.OPEN_DATA_FOLDER: lambda _a: self.open_data_folder(),
            # The settings file: opened, shown, followed (app_settings.py).
            Command.OPEN_SETTINGS: lambda _a: self.settings_follower.open_settings(),
            Command.SHOW_SETTINGS_PROBLEMS: lambda _a: self.settings_follower.show_window(),
            Command.RELOAD_SETTINGS: lambda _a: self.settings_follower.reload_soon(),
            Command.TOGGLE_AUTOSTART: lambda _a: self.toggle_autostart(),
            Command.NEW_PROJECT: lambda _a: self._new_session("project"),
            Command.NEW_RUN: lambda _a: self._new_session("run"),
            Command.SHOW_SESSIONS: lambda _a: self.activate(),
            Command.PAUSE_NOTIFICATIONS_HOUR: lambda _a: self._pause(PauseChoice.HOUR),
            Command.PAUSE_NOTIFICATIONS_TOMORROW: lambda _a: self._pause(PauseChoice.TOMORROW),
            Command.RESUME_NOTIFICATIONS: lambda _a: self.notifier.resume(),
            Command.SAVE_REPORT: lambda _a: self.save_report(),
            Command.OPEN_PROMPT: self._on_session(SessionActions.open_prompt),
            Command.SHOW_DETAILS: self._on_session(SessionActions.show_details),
            Command.CANCEL: self._on_session(SessionActions.cancel),
            Command.OPEN_FOLDER: self._on_session(SessionActions.open_folder),
            Command.COPY_DETAILS: self._on_session(SessionActions.copy_details),
            Command.DISCARD_FOLDER: self._on_session(SessionActions.discard_folder),
            Command.START_AGAIN: self._on_session(SessionActions.start_again),
            Command.RETRY_SYNC: lambda _a: self.sync_watch.retry_all(),
            Command.REQUEUE_SYNC: lambda a: self.sync_watch.requeue(a.session_id or ""),
        }

    # ---- what start() brought up ---------------------------------------------------------
    @property
    def parts(self) -> _Parts:
        """The running app's parts; only once start() has made them."""
        if self._parts is None:
            raise RuntimeError("the desktop app has not started")
        return self._parts

    # Each reads the part of that name (a descriptor: see _Part below).
    loaded: _Part[LoadedSettings] = _Part()
    service: _Part[ExlabService] = _Part()
    quitter: _Part[QuitCoordinator] = _Part()
    actions: _Part[SessionActions] = _Part()
    notifier: _Part[Notifier] = _Part()
    gc_timer: _Part[QTimer] = _Part()

    # The service's own, not copies a part could hold.
    @property
    def store(self) -> SessionStore:
        return self.parts.service.store

    @property
    def controller(self) -> CreationController:
        return self.parts.service.controller

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
        loop = self.loop = asyncio.get_running_loop()
        loop.set_exception_handler(LoopErrors(self.notice))
        # Closing a dialog or the sessions window must never end the app.
        self.app.setQuitOnLastWindowClosed(False)
        self._finished = loop.create_future()
        on_stop_signals(loop, self._on_signal)

        # The icon first: everything below imports the API server (aiohttp), which is slow.
        available = self.show_tray()
        await asyncio.sleep(0)

        from PySide6.QtCore import QTimer

        from tray_app.api.server import AnotherInstanceRunning
        from tray_app.api.service import ExlabService
        from tray_app.config import settings_in_use
        from tray_app.ui.quit import QUIT_WAIT_S, QuitCoordinator

        given, clock, _tray, quit_wait_s, api_port = self._options
        loaded = settings_in_use(given)
        logs.set_level(loaded.settings.log_level)
        self._install_language(loaded.settings.language)
        service_kwargs: dict[str, Any] = {
            "activate_callback": self.activate,
            "port": api_port,
            # The render worker (Copier) starts when creating starts, not with the tray.
            "prewarm": False,
        }
        if clock is not None:
            service_kwargs["clock"] = clock
        service = ExlabService(loaded, **service_kwargs)
        self.tray.attach(service.store)

        quitter = QuitCoordinator(
            service.controller,
            service.store,
            wait_s=QUIT_WAIT_S if quit_wait_s is None else quit_wait_s,
        )
        quitter.waiting_changed.connect(
            lambda n: self.tray.set_flags(quitting=True, quitting_waiting_for=n)
        )
        quitter.finished.connect(self._quit_finished)
        quitter.answer_requested.connect(
            lambda sid: self.dispatch(Action(Command.OPEN_PROMPT, sid))
        )

        try:
            await service.start()
        except AnotherInstanceRunning as exc:
            # Another instance won a start-up race: hand over to it.
            activate_instance(exc.info)
            self.tray.close()
            return 0
        self.api_ready_s = time.perf_counter() - _T0
        _log.info("startup: API ready after %.3f s at %s", self.api_ready_s, service.api.url)

        from tray_app.ui.notifications import choose_backend

        backend = await choose_backend(self.tray.icon if available else None)
        gc_timer = QTimer()
        gc_timer.setInterval(max(1, round(loaded.settings.gc_interval_s * 1000)))
        gc_timer.timeout.connect(self.run_gc)
        self._parts = self._start_ui(
            loaded,
            service,
            quitter=quitter,
            gc_timer=gc_timer,
            tray_available=available,
            notices=backend,
        )
        gc_timer.start()
        self._after_restore(service)
        self.settings_follower.watch()
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
        for translator in self._qt_translators:
            self.app.removeTranslator(translator)
        self._qt_translators = install_qt_translations(self.app, language)
        _log.info("language: %s", language)

    def show_tray(self) -> bool:
        """Create the tray icon and show it if the desktop has a tray; True if it has one."""
        from PySide6.QtWidgets import QSystemTrayIcon

        available = (
            QSystemTrayIcon.isSystemTrayAvailable()
            if self._options.tray_available is None
            else self._options.tray_available
        )
        if available and not self.tray.icon.isVisible():
            self.tray.icon.show()
            self.tray_shown_s = time.perf_counter() - _T0
            _log.info("startup: tray icon shown after %.3f s", self.tray_shown_s)
        return available

    def _start_ui(
        self,
        loaded: LoadedSettings,
        service: ExlabService,
        *,
        quitter: QuitCoordinator,
        gc_timer: QTimer,
        tray_available: bool,
        notices: NotificationBackend,
    ) -> _Parts:
        from tray_app.ui.notification_policy import NotificationPolicy
        from tray_app.ui.notifications import Notifier

        actions = SessionActions(service.store, service.controller, loaded.settings)
        actions.failures_seen.connect(self.tray.mark_failures_seen)
        notifier = Notifier(
            service.store,
            notices,
            self.dispatch,
            policy=NotificationPolicy(loaded.settings.notifications),
        )
        notifier.pause_changed.connect(
            lambda until: self.tray.set_flags(notifications_paused_until=until)
        )
        # A second question while its dialog is open shows up in the dialog, not as a notice.
        notifier.prompt_in_view = lambda sid: sid in actions.prompts
        from tray_app.ui.pause_memory import remember_pause, restore_pause

        restore_pause(notifier, service.store.clock())
        notifier.pause_changed.connect(remember_pause)
        _log.info("notifications via %s", notifier.backend.name)
        self._parts = _Parts(loaded, service, quitter, actions, notifier, gc_timer)
        self.tray.set_flags(
            autostart_enabled=autostart_menu_state(),
            settings_problems=tuple(str(p) for p in self.loaded.problems),
        )
        if self.loaded.problems:
            self.settings_follower.notice_problems()
        self.actions.action_failed.connect(
            lambda _sid, message: self.notice("ExLab Tray could not do that", message)
        )
        self.sync_watch = follow_sync(
            service.controller, self.tray, notify=notifier.notify, notice=self.notice,
            details=lambda: list(self.actions.details.values()), clock=service.store.clock,
            start_queue=any_target(loaded.settings),
        )  # fmt: skip
        if not tray_available:
            self.no_tray = True
            _log.warning("no system tray available: showing the sessions window instead")
            self.actions.set_quit_on_close(True)
            self.actions.quit_requested.connect(self.request_quit)
            self.actions.show_sessions_window(NO_TRAY_REASON)
        return self._parts

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
        parts = self._parts
        if parts is not None:
            parts.gc_timer.stop()
        await self.settings_follower.stop()
        if self.demo_task is not None and not self.demo_task.done():
            self.demo_task.cancel()
            await asyncio.wait([self.demo_task], timeout=2)
        if parts is not None:
            await parts.notifier.aclose()
            with contextlib.suppress(Exception):
                parts.actions.close_all()
            await parts.service.stop(timeout=2.0)
        self.tray.close()
        # Qt's translations belong to this app, not to the QApplication it ran on (another
        # app made on it, as the tests make, starts in English).
        for translator in self._qt_translators:
            self.app.removeTranslator(translator)
        self._qt_translators = []
        drop_stop_signals(asyncio.get_running_loop())
        _log.info("shut down")

    # ---- actions from the menu and from notices ----------------------------------------------
    def activate(self) -> None:
        """Another launch asked us to come forward (POST /app/activate)."""
        _log.info("activated by another launch: showing the sessions window")
        if self._parts is not None:
            self._parts.actions.show_sessions_window(NO_TRAY_REASON if self.no_tray else None)

    def dispatch(self, action: Action) -> None:
        """Do what a menu entry or a notice asks (the command table, made in __init__)."""
        if not self.started:
            _log.info("ignoring %s: still starting", action)
            return
        try:
            self._commands[action.command](action)
        except Exception as exc:
            _log.exception("menu action %s failed", action)
            self.notice("ExLab Tray could not do that", str(exc) or type(exc).__name__)

    def _on_session(
        self, handler: Callable[[SessionActions, str], None]
    ) -> Callable[[Action], None]:
        """A session command's handler: it needs the session; without one it does nothing."""

        def run(action: Action) -> None:
            if action.session_id is not None:
                handler(self.actions, action.session_id)

        return run

    def _new_session(self, kind: str) -> None:
        self.service.warm_up_soon()
        self.actions.new_session(kind)

    def _pause(self, choice: PauseChoice) -> None:
        self.notifier.pause(pause_end(choice, self.store.clock()))

    def save_report(self) -> None:
        """Ask where, then write the support report off the loop and say where it went."""
        from tray_app.ui.report_dialog import ask_and_save_report

        self.report_dialog = ask_and_save_report(
            self.store, self.controller, self.loaded, on_done=self.notice
        )

    def open_data_folder(self) -> None:
        root = self.loaded.settings.local_root_path()
        root.mkdir(parents=True, exist_ok=True)
        _open_path(root)

    def toggle_autostart(self) -> None:
        from tray_app import autostart

        try:
            autostart.set_enabled(not autostart.is_enabled())
        except autostart.AutostartError as exc:
            self.notice("Start at login could not be changed", str(exc))
        self.tray.set_flags(autostart_enabled=autostart.is_enabled())

    # ---- surfacing problems ------------------------------------------------------------------
    def notice(self, summary: str, body: str) -> None:
        """A desktop notice outside any session (settings, menu actions, internal errors)."""
        from tray_app.ui.notifications import Notice

        if self._parts is None:
            _log.warning("%s: %s", summary, body)
            return
        with contextlib.suppress(Exception):
            self._parts.notifier.backend.show(Notice(summary, body, (), ()), lambda _key: None)

    def _after_restore(self, service: ExlabService) -> None:
        """Sessions restored from the journal came back without a store change: repaint;
        say once which runs still wait from before, and what is wrong with the journal."""
        from tray_app.ui.restart_notice import ANSWER, still_waiting_notice

        self.tray.schedule_repaint()
        for problem in service.journal_problems():
            self.notice("ExLab Tray's session journal had a problem", problem.message)
        found = still_waiting_notice(service.store, service.recovered.waiting)
        if found is None or self._parts is None:
            return
        notice, first = found

        def answer(key: str) -> None:
            if key in (ANSWER, "default"):
                self.dispatch(Action(Command.OPEN_PROMPT, first))

        with contextlib.suppress(Exception):
            self._parts.notifier.backend.show(notice, answer)


def _open_path(path: os.PathLike[str] | str) -> None:
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices

    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
        raise OSError(f"no application could open {path}")
