"""Quitting without losing work.

Sessions waiting for input are kept across a quit (the journal asks them again after
the next start), so with any of them Quit asks at once, naming them: Quit / Answer now /
Don't quit. Then new sessions are refused and the sessions really running get a bounded
wait, after which "Force quit / Wait" names the phase each one is in.

Nothing here blocks the loop: waiting follows the store's changes, and every question
is a non-modal QMessageBox answered through a future.
"""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QPushButton

from tray_app.creation.seam import CreationSeam
from tray_app.creation.wording import doing_words, session_title
from tray_app.i18n import _, ngettext
from tray_app.sessions.session import Session
from tray_app.sessions.states import LIVE_STATES, SessionState
from tray_app.sessions.store import Change, SessionStore
from tray_app.ui.async_bridge import run_async
from tray_app.ui.store_bridge import StoreBridge, StoreChanges

_log = logging.getLogger(__name__)

#: How long Quit waits for live sessions before asking "Force quit or Wait?".
QUIT_WAIT_S = 30.0
#: SIGTERM/SIGINT must end the process within 5 s: wait this long, then stop hard.
SIGNAL_WAIT_S = 2.5


class QuitCoordinator(QObject):
    """Runs one quit at a time; ``finished`` fires once, when the app may shut down."""

    finished = Signal()
    #: "Answer now" in the quit question: the session to open the prompt of.
    answer_requested = Signal(str)
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
        self._task: asyncio.Task[None] | None = None
        self._done = False
        self._following = False
        #: The open "Force quit / Wait" question, if any (tests answer it).
        self.question: QMessageBox | None = None
        self.force_button: QPushButton | None = None
        self.wait_button: QPushButton | None = None
        #: The open "runs wait for your input" question, if any (tests answer it).
        self.waiting_question: QMessageBox | None = None
        self.quit_button: QPushButton | None = None
        self.answer_button: QPushButton | None = None
        self.stay_button: QPushButton | None = None
        self._idle = asyncio.Event()  # set while nothing really runs (during a quit)

    @property
    def quitting(self) -> bool:
        return self._task is not None or self._done

    def running(self) -> list[Session]:
        """Live sessions that are really working (not waiting for an answer)."""
        return [s for s in self._store.sessions(LIVE_STATES) if s.state is not _WAITING]

    def request_quit(self, *, force: bool = False, wait_s: float | None = None) -> None:
        """Start quitting. ``wait_s`` bounds the wait; with it no question is asked (signals)."""
        if self._done:
            return
        if self.waiting_question is not None:
            self.waiting_question.raise_()
            return
        waiting = self._store.sessions([_WAITING])
        if waiting and not force and wait_s is None and self._task is None:
            self._ask_about_waiting(waiting)
            return
        self._proceed(force=force, wait_s=wait_s)

    def _ask_about_waiting(self, waiting: list[Session]) -> None:
        """Quit / Answer now / Don't quit, naming the runs that wait; nothing is refused yet."""
        n = len(waiting)
        box = QMessageBox(QMessageBox.Icon.Question, _("Quit ExLab Tray"), "")
        box.setText(
            ngettext(
                "{n} run is waiting for your input:",
                "{n} runs are waiting for your input:",
                n,
            ).format(n=n)
            + "\n"
            + "\n".join(f"• {session_title(s)}" for s in waiting)
        )
        box.setInformativeText(
            _("If you quit, ExLab Tray asks again after its next start; nothing is lost.")
        )
        quit_button = box.addButton(_("&Quit"), QMessageBox.ButtonRole.AcceptRole)
        answer_button = box.addButton(_("&Answer now"), QMessageBox.ButtonRole.ActionRole)
        stay_button = box.addButton(_("&Don't quit"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(stay_button)
        first = waiting[0].session_id

        def answered(_result: int) -> None:
            clicked = box.clickedButton()
            self.waiting_question = None
            box.deleteLater()
            if clicked is quit_button:
                self._proceed(force=False, wait_s=None)
            elif clicked is answer_button:
                self.answer_requested.emit(first)

        box.finished.connect(answered)
        self.waiting_question = box
        self.quit_button, self.answer_button, self.stay_button = (
            quit_button,
            answer_button,
            stay_button,
        )
        box.open()

    def _proceed(self, *, force: bool, wait_s: float | None) -> None:
        self._controller.begin_shutdown()
        if force or self._controller.live_task_count == 0 or not self.running():
            self._finish()
            return
        if self._task is not None:
            if wait_s is not None:
                # A signal while already waiting: stop waiting on the operator's answer.
                self._task.cancel()
                self._task = run_async(self._wait(wait_s, ask=False), what="quitting")
            return
        if not self._following:
            StoreBridge.of(self._store).changed.connect(self._on_changes)
            self._following = True
        self._note_running()
        ask = wait_s is None
        # run_async: menu actions may arrive outside a running callback, and the wait's
        # task must go to the app's loop all the same.
        self._task = run_async(
            self._wait(self._wait_s if wait_s is None else wait_s, ask=ask), what="quitting"
        )

    async def _wait(self, wait_s: float, *, ask: bool) -> None:
        while True:
            try:
                async with asyncio.timeout(wait_s):
                    await self._idle.wait()
                break
            except TimeoutError:
                pass
            if not ask:
                _log.warning("quitting with %d sessions still running", len(self.running()))
                break
            if await self._ask_force():
                break
        self._finish()

    async def _ask_force(self) -> bool:
        """Ask "Force quit or Wait?" without blocking; True for Force quit."""
        running = self.running()
        n = len(running)
        box = QMessageBox(QMessageBox.Icon.Question, _("Quit ExLab Tray"), "")
        box.setText(
            ngettext("{n} session is still running:", "{n} sessions are still running:", n).format(
                n=n
            )
            + "\n"
            + "\n".join(f"• {session_title(s)}: {doing_words(s)}" for s in running)
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
            self._note_running()

    def _note_running(self) -> None:
        n = len(self.running())
        if n:
            self._idle.clear()
        else:
            self._idle.set()
        self.waiting_changed.emit(n)

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        if self._following:
            StoreBridge.of(self._store).changed.disconnect(self._on_changes)
            self._following = False
        if self.question is not None:
            self.question.close()
        if self.waiting_question is not None:
            self.waiting_question.close()
        self.finished.emit()


_WAITING = SessionState.INPUT_REQUIRED
