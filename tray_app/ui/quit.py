"""Quitting without losing work: refuse new sessions, wait for live ones, then ask.

Nothing here blocks the loop: waiting is ``await controller.wait_idle(...)`` and the
"Force quit / Wait" question is a non-modal QMessageBox answered through a future.
"""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QPushButton

from tray_app.creation.seam import CreationSeam
from tray_app.i18n import _, ngettext
from tray_app.sessions.store import Change, SessionStore
from tray_app.ui.store_bridge import StoreBridge, StoreChanges

_log = logging.getLogger(__name__)

#: How long Quit waits for live sessions before asking "Force quit or Wait?".
QUIT_WAIT_S = 30.0
#: SIGTERM/SIGINT must end the process within 5 s: wait this long, then stop hard.
SIGNAL_WAIT_S = 2.5


class QuitCoordinator(QObject):
    """Runs one quit at a time; ``finished`` fires once, when the app may shut down."""

    finished = Signal()
    #: Emitted while waiting, with the number of sessions still running (0 when done).
    waiting_changed = Signal(int)

    def __init__(
        self,
        controller: CreationSeam,
        store: SessionStore,
        *,
        wait_s: float = QUIT_WAIT_S,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._controller = controller
        self._store = store
        self._wait_s = wait_s
        # Menu actions may arrive outside a running callback; tasks go to the app's loop.
        self._loop = asyncio.get_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._done = False
        self._following = False
        #: The open "Force quit / Wait" question, if any (tests answer it).
        self.question: QMessageBox | None = None
        self.force_button: QPushButton | None = None
        self.wait_button: QPushButton | None = None

    @property
    def quitting(self) -> bool:
        return self._task is not None or self._done

    def request_quit(self, *, force: bool = False, wait_s: float | None = None) -> None:
        """Start quitting. ``wait_s`` bounds the wait; with it no question is asked (signals)."""
        if self._done:
            return
        self._controller.begin_shutdown()
        if force or self._controller.live_task_count == 0:
            self._finish()
            return
        if self._task is not None:
            if wait_s is not None:
                # A signal while already waiting: stop waiting on the operator's answer.
                self._task.cancel()
                self._task = self._loop.create_task(self._wait(wait_s, ask=False))
            return
        if not self._following:
            StoreBridge.of(self._store).changed.connect(self._on_changes)
            self._following = True
        self.waiting_changed.emit(self._controller.live_task_count)
        ask = wait_s is None
        self._task = self._loop.create_task(
            self._wait(self._wait_s if wait_s is None else wait_s, ask=ask)
        )

    async def _wait(self, wait_s: float, *, ask: bool) -> None:
        while True:
            if await self._controller.wait_idle(wait_s):
                break
            if not ask:
                _log.warning(
                    "quitting with %d sessions still running", self._controller.live_task_count
                )
                break
            if await self._ask_force():
                break
        self._finish()

    async def _ask_force(self) -> bool:
        """Ask "Force quit or Wait?" without blocking; True for Force quit."""
        n = self._controller.live_task_count
        box = QMessageBox(QMessageBox.Icon.Question, _("Quit ExLab Tray"), "")
        box.setText(
            ngettext("{n} session is still running.", "{n} sessions are still running.", n).format(
                n=n
            )
        )
        box.setInformativeText(
            _(
                "Force quit stops them now (their partial folders are kept for review). "
                "Wait gives them another {seconds} seconds."
            ).format(seconds=round(self._wait_s))
        )
        force = box.addButton(_("&Force quit"), QMessageBox.ButtonRole.DestructiveRole)
        wait = box.addButton(_("&Wait"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(wait)
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def answered(_result: int) -> None:
            if not answer.done():
                answer.set_result(box.clickedButton() is force)

        box.finished.connect(answered)
        self.question, self.force_button, self.wait_button = box, force, wait
        box.open()
        try:
            return await answer
        finally:
            self.question = self.force_button = self.wait_button = None
            box.finished.disconnect(answered)
            box.close()
            box.deleteLater()

    def _on_changes(self, changes: StoreChanges) -> None:
        if any(change in (Change.STATE, Change.CLOSED) for _, change in changes):
            self.waiting_changed.emit(self._controller.live_task_count)

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        if self._following:
            StoreBridge.of(self._store).changed.disconnect(self._on_changes)
            self._following = False
        if self.question is not None:
            self.question.close()
        self.finished.emit()
