"""ExlabService: the store, the creation pipeline and the local API, wired together, no Qt.

``exlab-tray serve``, the tray and the self-test all run this same object:
it builds the store from the settings, starts the API (runtime.json), and
stops everything in order, within a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from tray_app import paths
from tray_app.api.schemas import HealthJournal, HealthJournalProblem
from tray_app.api.server import LocalApi
from tray_app.config import LoadedSettings, Settings
from tray_app.creation.controller import CreationController
from tray_app.creation.recovery import Recovered, find_unexplained_folders, list_found, recover
from tray_app.sessions import GcReport, Retention, SessionStore, utc_now
from tray_app.sessions.journal import Journal, JournalProblem

_log = logging.getLogger(__name__)

#: An open event socket heartbeats a waiting session at most this often.
MAX_SOCKET_HEARTBEAT_S = 60.0
#: The session journal's file name, under the state folder.
JOURNAL_NAME = "sessions.sqlite3"


class ExlabService:
    """Everything but the UI; start() and stop() are the whole lifecycle."""

    def __init__(
        self,
        loaded: LoadedSettings,
        *,
        clock: Callable[[], datetime] = utc_now,
        port: int = 0,
        activate_callback: Callable[[], None] | None = None,
        publish_runtime: bool = True,
        prewarm: bool = True,
        journal: bool = True,
    ) -> None:
        self.loaded = loaded
        self._prewarm_on_start = prewarm
        self.settings: Settings = loaded.settings
        settings = self.settings
        self.store = SessionStore(
            clock=clock,
            abandon_after=timedelta(seconds=settings.abandon_after_s),
            retention=Retention(
                max_finished=settings.retention_max_finished,
                max_age=timedelta(seconds=settings.retention_max_age_s),
            ),
        )
        self.controller = CreationController(self.store, settings)
        self.api = LocalApi(
            self.store,
            self.controller,
            port=port,
            activate_callback=activate_callback,
            heartbeat_interval_s=min(MAX_SOCKET_HEARTBEAT_S, settings.abandon_after_s / 4),
            publish_runtime=publish_runtime,
        )
        #: The session journal (None: sessions live in memory only, e.g. benchmarks).
        self.journal: Journal | None = (
            Journal(paths.state_dir() / JOURNAL_NAME, clock=clock) if journal else None
        )
        if self.journal is not None:
            self.controller.durable = self.journal.durable
        self.api.routes.journal_health = self.journal_health
        #: What the start did with the journal's live sessions.
        self.recovered = Recovered([], [], [])
        #: Sessions listed for folders found on disk (set once the scan has run).
        self.found_on_disk: list[str] | None = None
        self._scan: asyncio.Task[None] | None = None
        self._api_start: asyncio.Task[None] | None = None
        self._prewarm: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Task[None] | None = None

    def apply_settings(self, loaded: LoadedSettings) -> None:
        """Use reloaded settings from now on: new sessions, GC and retention follow them;
        sessions already open keep the paths they were given."""
        self.loaded = loaded
        self.settings = settings = loaded.settings
        self.store.abandon_after = timedelta(seconds=settings.abandon_after_s)
        self.store.retention = Retention(
            max_finished=settings.retention_max_finished,
            max_age=timedelta(seconds=settings.retention_max_age_s),
        )
        self.controller.use_settings(settings)

    @property
    def url(self) -> str:
        return self.api.url

    async def start(self) -> None:
        """Serve first, then warm the pipeline up in the background (the render
        worker's Copier import is slow).

        With ``prewarm=False`` the warm-up waits for :meth:`warm_up_soon`: the tray
        starts the render worker only when the operator starts creating.
        """
        self._loop = asyncio.get_running_loop()
        await self.restore()
        # Shielded: a start given up on half-way (a caller's timeout) must still leave a
        # server that stop() can find and take down, runtime.json included.
        self._api_start = self._loop.create_task(self.api.start(), name="exlab-api-start")
        await asyncio.shield(self._api_start)
        if self.journal is not None:
            self._scan = self._loop.create_task(self._scan_folders(), name="exlab-folder-scan")
        if self._prewarm_on_start:
            self.warm_up_soon()

    async def restore(self) -> None:
        """Before anything is served: the journal's sessions back into the store, each
        settled (waiting again, finished, or interrupted); the journal follows the store."""
        journal = self.journal
        if journal is None:
            return
        loaded = await journal.open(self.store.retention)
        self.store.restore(loaded.sessions)
        journal.attach(self.store)
        self.recovered = await recover(self.store, self.controller)

    def journal_problems(self) -> list[JournalProblem]:
        return [] if self.journal is None else self.journal.problems

    def journal_health(self) -> HealthJournal:
        """The journal's part of /health: ok or what is wrong, and the folder scan."""
        if self.journal is None:
            return HealthJournal(status="off")
        problems = [
            HealthJournalProblem(p.code, p.message, p.moved_to) for p in self.journal.problems
        ]
        return HealthJournal(
            status=problems[0].code if problems else "ok",
            problems=problems,
            folder_scan="done" if self.found_on_disk is not None else "running",
            found_on_disk=len(self.found_on_disk or []),
        )

    async def _scan_folders(self) -> None:
        """After start, off the loop: claimed folders no session explains."""
        explained = {s.destination for s in self.store.sessions() if s.destination}
        try:
            found = await asyncio.to_thread(
                find_unexplained_folders, self.settings.local_root_path(), explained
            )
        except Exception:  # the scan is a courtesy; the app goes on without it
            _log.warning("folder scan failed", exc_info=True)
            found = []
        self.found_on_disk = list_found(self.store, found)
        if self.found_on_disk:
            _log.info("%d unfinished folder(s) found on disk", len(self.found_on_disk))

    def warm_up_soon(self) -> None:
        """Start the pipeline warm-up in the background unless one is under way.

        Cheap to repeat: the render worker lets go after idle minutes, and the
        next New… warms it again. Callable from Qt slots that run outside a loop
        turn, hence the stored loop.
        """
        warming = self._prewarm is not None and not self._prewarm.done()
        if not warming and self._stopping is None and self._loop is not None:
            self._prewarm = self._loop.create_task(self._warm_up(), name="exlab-prewarm")

    async def stop(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - the shared contract
        """Refuse new sessions, let running ones finish briefly, cancel the rest, stop the API.

        Idempotent; a second call waits for the first.
        """
        if self._stopping is None:
            self._stopping = asyncio.create_task(self._stop(timeout), name="exlab-stop")
        await asyncio.shield(self._stopping)

    def gc_once(self) -> GcReport:
        return self.store.gc_once()

    async def _stop(self, budget_s: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget_s
        controller = self.controller
        controller.begin_shutdown()
        if self._prewarm is not None and not self._prewarm.done():
            self._prewarm.cancel()
        if self._scan is not None and not self._scan.done():
            self._scan.cancel()
        # Work in flight (a render, a plugin) may finish; a prompt nobody answers will not.
        await self._settle(budget_s * 0.3)
        if self.journal is not None:
            # Closed before the rest is cancelled: a waiting session stays waiting in the
            # journal and is asked again after the next start; one still running comes
            # back interrupted, with the phase it was in.
            await self.journal.close()
        # Always: besides pipeline tasks it reaps the spare plugin worker.
        await controller.aclose(max(0.1, deadline - loop.time() - 1.0))
        # Terminal frames are out; now end every stream and the server.
        self.store.close_all_subscriptions()
        if self._api_start is not None and not self._api_start.done():
            with contextlib.suppress(Exception):
                await self._api_start
        await self.api.stop(grace_s=max(0.1, min(1.0, deadline - loop.time())))

    async def _settle(self, limit_s: float) -> None:
        """Wait (bounded) until every live session is waiting for input, or none is live."""
        store = self.store
        if store.live_count == store.waiting_count:
            return
        settled: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def observe(_session: object, _change: object) -> None:
            if store.live_count == store.waiting_count and not settled.done():
                settled.set_result(None)

        remove = store.add_observer(observe)
        try:
            await asyncio.wait_for(settled, limit_s)
        except TimeoutError:
            pass
        finally:
            remove()

    async def _warm_up(self) -> None:
        try:
            await self.controller.prewarm()
        except asyncio.CancelledError:
            raise
        except Exception:
            # A failed warm-up only costs the first creation some time.
            _log.warning("pipeline warm-up failed", exc_info=True)
