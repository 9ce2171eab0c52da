"""The tray's view of the NAS sync queue: the menu's sync line, Retry now, requeue, and one
notice when folders have not reached the NAS for over an hour.

Event-driven: the controller calls back on every job change; changes in one loop turn
become one summary. The only timer is a single shot at the moment the oldest wait
turns one hour old.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal

from tray_app.creation.sync import JobStatus, SyncJob, SyncSummary
from tray_app.i18n import _, ngettext
from tray_app.ui.async_bridge import error_message, run_async
from tray_app.ui.notification_policy import EventKind, SessionEvent
from tray_app.ui.timers import make_timer

__all__ = ["OVERDUE_AFTER", "SyncWatch", "follow_sync"]

_log = logging.getLogger(__name__)

#: Folders that could not be synced for this long get one notice (until the trouble clears).
OVERDUE_AFTER = timedelta(hours=1)


class SyncSource(Protocol):
    def add_sync_observer(self, observer: Callable[[SyncJob], None]) -> None: ...
    def sync_summary(self) -> SyncSummary | None: ...
    def sync_jobs(self) -> list[SyncJob]: ...
    async def retry_sync(self, job_id: str) -> SyncJob: ...
    async def requeue_sync(self, ident: str) -> SyncJob: ...
    async def open_sync_queue(self) -> object: ...


class SyncWatch(QObject):
    """Emits ``changed(summary)`` after job changes; ``notify(event)`` for an overdue wait."""

    changed = Signal(object)
    #: A refusal or error of Retry now / requeue, in words (title, body).
    failed = Signal(str, str)

    def __init__(
        self,
        controller: SyncSource,
        notify: Callable[[SessionEvent], object],
        clock: Callable[[], datetime],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._controller = controller
        self._notify = notify
        self._clock = clock
        self._notified = False
        self._coalesce = make_timer(self, self.refresh)
        self._overdue = make_timer(self, self.check_overdue)
        controller.add_sync_observer(lambda _job: self._coalesce.start())

    def refresh(self) -> None:
        summary = self._controller.sync_summary()
        self.changed.emit(summary)
        self.check_overdue(summary)

    # ---- the one notice --------------------------------------------------------------
    def _stuck(self) -> list[SyncJob]:
        return [
            j
            for j in self._controller.sync_jobs()
            if j.status in (JobStatus.WAITING, JobStatus.FAILED)
        ]

    def check_overdue(self, summary: SyncSummary | None = None) -> None:
        """Notify once when the oldest stuck folder has waited an hour; re-arm after it clears.

        ``summary`` is the queue's summary when the caller has it already (else it is asked)."""
        stuck = self._stuck()
        if not stuck:
            self._notified = False
            self._overdue.stop()
            return
        if self._notified:
            return
        oldest = min(stuck, key=_stuck_since)
        due = _stuck_since(oldest) + OVERDUE_AFTER - self._clock()
        if due > timedelta(0):
            self._overdue.start(max(1000, round(due.total_seconds() * 1000)))
            return
        self._notified = True
        if summary is None:
            summary = self._controller.sync_summary()
        count = len(stuck)
        reason = summary.reason if summary and summary.reason else _("see the tray menu")
        self._notify(
            SessionEvent(
                EventKind.SYNC_PROBLEM,
                oldest.session_id or "",
                ngettext(
                    "{n} folder not on the NAS for over an hour",
                    "{n} folders not on the NAS for over an hour",
                    count,
                ).format(n=count),
                _("{reason}\nChoose Retry now in the tray menu once the NAS is back.").format(
                    reason=reason
                ),
            )
        )

    # ---- actions -----------------------------------------------------------------------
    def retry_all(self) -> None:
        """Retry now every folder that waits or failed."""
        for job in self._stuck():
            self.run_task(self._controller.retry_sync(job.id), _("Could not retry the NAS sync"))

    def requeue(self, session_id: str) -> None:
        self.run_task(
            self._controller.requeue_sync(session_id), _("The folder was not queued for the NAS")
        )

    def run_task(self, coro: Coroutine[Any, Any, object], title: str) -> None:
        """Run ``coro`` on the loop; a refusal or error becomes ``failed(title, words)``."""
        run_async(
            coro,
            on_error=lambda error: self.failed.emit(title, error_message(error)),
            owner=self,
            what=title,
        )


def follow_sync(
    controller: SyncSource,
    tray: Any,
    *,
    notify: Callable[[SessionEvent], object],
    notice: Callable[[str, str], None],
    details: Callable[[], Iterable[Any]],
    clock: Callable[[], datetime],
    start_queue: bool,
) -> SyncWatch:
    """The desktop app's wiring: the menu's sync line, refusals as notices, open details
    dialogs refreshed; the queue started now (copies left from the last run go on) when
    a NAS is set, not only once something is created."""
    watch = SyncWatch(controller, notify, clock)
    watch.changed.connect(lambda summary: tray.set_flags(sync=summary))
    watch.failed.connect(notice)

    def refresh_details(_summary: object) -> None:
        for dialog in details():
            dialog.refresh_sync()

    watch.changed.connect(refresh_details)
    if start_queue:

        async def start() -> None:
            try:
                await controller.open_sync_queue()
            except Exception as exc:
                _log.exception("the NAS sync queue could not start")
                notice(_("The NAS sync queue could not start"), str(exc) or type(exc).__name__)
            watch.refresh()

        run_async(start(), owner=watch, what="starting the NAS sync queue")
    return watch


def _stuck_since(job: SyncJob) -> datetime:
    """Since when a waiting or failed folder has not been on the NAS."""
    return job.waiting_since or job.last_attempt_at or job.queued_at
