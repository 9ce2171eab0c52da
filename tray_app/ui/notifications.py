"""Desktop notices when a session needs input, fails or is abandoned, coalesced into one per burst.

Which notices go out is :mod:`notification_policy`'s call; where they go is
:mod:`notice_backends`'. Acting on a notice becomes a menu
:class:`~tray_app.ui.menu_model.Action`, so it opens the same prompt or details as the menu.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from tray_app.creation.wording import error_words, session_title, was_abandoned
from tray_app.i18n import N_, _, ngettext
from tray_app.sessions.session import Session
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import Change, SessionStore
from tray_app.ui.menu_model import Action, Command
from tray_app.ui.notice_backends import (
    BACKEND_ENV,
    FreedesktopBackend,
    Notice,
    NotificationBackend,
    NullBackend,
    TrayMessageBackend,
    choose_backend,
)
from tray_app.ui.notification_policy import (
    EventKind,
    NotificationPolicy,
    SessionEvent,
    Verdict,
)
from tray_app.ui.store_bridge import StoreBridge, StoreChanges

__all__ = [
    "BACKEND_ENV",
    "BURST_WINDOW_S",
    "Coalescer",
    "EventKind",
    "FreedesktopBackend",
    "Notice",
    "NotificationBackend",
    "Notifier",
    "NullBackend",
    "SessionEvent",
    "TrayMessageBackend",
    "action_for",
    "choose_backend",
    "event_for",
    "notice_for",
    "paused_summary",
    "qt_schedule",
]

_log = logging.getLogger(__name__)

#: Events closer together than this become one notice with a count.
BURST_WINDOW_S = 1.5
_BURST_BODY_LINES = 5


# ---- what to say, and what acting on it does (pure) -----------------------------------------


def event_for(session: Session, change: Change) -> SessionEvent | None:
    """The event worth a notice for this store change, if any."""
    if change is Change.STATE and session.state is SessionState.INPUT_REQUIRED:
        prompt = session.pending_input or {}
        plugin = prompt.get("plugin") or _("A plugin")
        reason = str(prompt.get("reason") or _("needs your answer"))
        return SessionEvent(
            EventKind.NEEDS_INPUT,
            session.session_id,
            session_title(session),
            _("{plugin}: {reason}").format(plugin=plugin, reason=reason),
        )
    if change is Change.CLOSED and session.state is SessionState.FAILED:
        return SessionEvent(
            EventKind.FAILED, session.session_id, session_title(session), error_words(session)
        )
    if change is Change.CLOSED and was_abandoned(session):
        return SessionEvent(
            EventKind.ABANDONED,
            session.session_id,
            session_title(session),
            _("Nobody answered its question in time, so it was cancelled."),
        )
    return None


def latest_per_session(events: list[SessionEvent]) -> list[SessionEvent]:
    """Each session once per kind, with its latest event, in the order sessions first spoke.

    A plugin that asks twice within one burst (or one pause) is one session that needs input,
    not two: it is counted and listed once, with the question it asks now.
    """
    latest: dict[tuple[EventKind, str], SessionEvent] = {}
    for event in events:
        latest[(event.kind, event.session_id)] = event
    return list(latest.values())


def notice_for(events: list[SessionEvent]) -> Notice:
    """One notice for one event, or a counted summary for several (a session named once)."""
    events = latest_per_session(events)
    if len(events) == 1:
        event = events[0]
        if event.kind is EventKind.NEEDS_INPUT:
            return Notice(
                _("Input needed: {title}").format(title=event.title),
                event.detail,
                (("default", _("Answer…")), ("answer", _("Answer…")), ("details", _("Details…"))),
                (event,),
            )
        summary = {
            EventKind.FAILED: _("Session failed: {title}"),
            EventKind.ABANDONED: _("Session abandoned: {title}"),
            EventKind.SYNC_PROBLEM: _("NAS sync problem: {title}"),
        }[event.kind].format(title=event.title)
        details = (("default", _("Details…")), ("details", _("Details…")))
        return Notice(summary, event.detail, details, (event,))
    waiting = sum(1 for e in events if e.kind is EventKind.NEEDS_INPUT)
    others = len(events) - waiting
    parts = []
    if waiting:
        parts.append(ngettext("{n} needs input", "{n} need input", waiting).format(n=waiting))
    if others:
        parts.append(
            ngettext("{n} failed or abandoned", "{n} failed or abandoned", others).format(n=others)
        )
    summary = ngettext(
        "{n} session needs attention ({parts})",
        "{n} sessions need attention ({parts})",
        len(events),
    )
    return _many_notice(summary, parts, events)


def _many_notice(summary: str, parts: list[str], events: list[SessionEvent]) -> Notice:
    """A notice about several sessions: counted ``summary``, a line each (at most five)."""
    lines = [_line(e) for e in events[:_BURST_BODY_LINES]]
    if len(events) > _BURST_BODY_LINES:
        lines.append(_more(len(events) - _BURST_BODY_LINES))
    return Notice(
        summary.format(n=len(events), parts=_(", ").join(parts)),
        "\n".join(lines),
        (("default", _("Show sessions…")), ("sessions", _("Show sessions…"))),
        tuple(events),
    )


def paused_summary(events: list[SessionEvent]) -> Notice | None:
    """The one notice for what a pause held back, or None when nothing is left to say.

    A session that asked more than once while paused is named once.
    """
    unique = latest_per_session(events)
    if not unique:
        return None
    if len(unique) == 1:
        single = notice_for(unique)
        return Notice(
            _("While notifications were paused: {summary}").format(summary=single.summary),
            single.body,
            single.actions,
            single.events,
        )
    waiting = sum(1 for e in unique if e.kind is EventKind.NEEDS_INPUT)
    parts = []
    if waiting:
        parts.append(ngettext("{n} needs input", "{n} need input", waiting).format(n=waiting))
    if len(unique) - waiting:
        n = len(unique) - waiting
        parts.append(ngettext("{n} abandoned", "{n} abandoned", n).format(n=n))
    summary = ngettext(
        "While notifications were paused: {n} session ({parts})",
        "While notifications were paused: {n} sessions ({parts})",
        len(unique),
    )
    return _many_notice(summary, parts, unique)


def action_for(notice: Notice, key: str) -> Action | None:
    """What choosing ``key`` on ``notice`` does; None for an unknown key."""
    if len(notice.events) != 1:
        return Action(Command.SHOW_SESSIONS) if key in ("default", "sessions") else None
    event = notice.events[0]
    if key == "details":
        return Action(Command.SHOW_DETAILS, event.session_id)
    if key in ("default", "answer"):
        if event.kind is EventKind.NEEDS_INPUT:
            return Action(Command.OPEN_PROMPT, event.session_id)
        return Action(Command.SHOW_DETAILS, event.session_id)
    return None


#: Marked here, translated where shown (this table is built at import).
_EVENT_WORDS = {
    EventKind.NEEDS_INPUT: N_("needs input"),
    EventKind.FAILED: N_("failed"),
    EventKind.ABANDONED: N_("abandoned"),
    EventKind.SYNC_PROBLEM: N_("NAS sync problem"),
}


def _event_words(event: SessionEvent) -> str:
    return _(_EVENT_WORDS[event.kind])


def _line(event: SessionEvent) -> str:
    return _("• {title}: {what}").format(title=event.title, what=_event_words(event))


def _more(n: int) -> str:
    return ngettext("… and {n} more", "… and {n} more", n).format(n=n)


# ---- coalescing -----------------------------------------------------------------------------

Schedule = Callable[[float, Callable[[], None]], Any]


class Coalescer:
    """A lone event goes out at once; events within the window after it go out as one notice.

    The only timer is a single-shot one that exists while a burst window is open, so an idle
    app has no wakeups from here.
    """

    def __init__(
        self,
        send: Callable[[Notice], None],
        schedule: Schedule,
        window_s: float = BURST_WINDOW_S,
        relevant: Callable[[SessionEvent], bool] = lambda _event: True,
    ) -> None:
        self._send = send
        self._schedule = schedule
        self._window_s = window_s
        self._relevant = relevant
        self._window_open = False
        self._pending: list[SessionEvent] = []

    def push(self, event: SessionEvent) -> None:
        if self._window_open:
            self._pending.append(event)
            return
        self._send(notice_for([event]))
        self._open_window()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _open_window(self) -> None:
        self._window_open = True
        self._schedule(self._window_s, self._window_closed)

    def _window_closed(self) -> None:
        self._window_open = False
        # What changed during the window is told as it stands now: a session that asked
        # and then failed is one that failed, not one that also needs input.
        events = [event for event in self._pending if self._relevant(event)]
        self._pending = []
        if events:
            self._send(notice_for(events))
            self._open_window()


def qt_schedule(delay_s: float, callback: Callable[[], None]) -> None:
    QTimer.singleShot(round(delay_s * 1000), callback)


# ---- the notifier: store events -> notices -> actions ---------------------------------------


class Notifier(QObject):
    """Watches the store and shows notices as ``policy`` allows; acting on one calls
    ``dispatch(action)``.

    Other sources (the NAS sync queue) hand their events to :meth:`notify`. A pause ends on
    a single-shot timer at its end (re-checked against ``clock``, so a timer that fires early
    after a suspend just waits again); then the held needs-input notices of sessions that
    still wait, and the abandoned ones, become one summary notice.
    """

    #: The end of the pause (a datetime), or None once notifications are on again.
    pause_changed = Signal(object)

    def __init__(
        self,
        store: SessionStore,
        backend: NotificationBackend,
        dispatch: Callable[[Action], None],
        *,
        schedule: Schedule = qt_schedule,
        window_s: float = BURST_WINDOW_S,
        policy: NotificationPolicy | None = None,
        clock: Callable[[], datetime] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.backend = backend
        self.policy = policy if policy is not None else NotificationPolicy()
        self._store = store
        self._clock = clock if clock is not None else store.clock
        self._schedule = schedule
        self._pause_generation = 0
        self._dispatch = dispatch
        self._coalescer = Coalescer(self._show, schedule, window_s, self._still_relevant)
        # Shown notices that only ask for input, with the sessions still waiting in
        # each: once none waits, the notice is taken back (see _withdraw_answered).
        self._asking: list[tuple[object, set[str]]] = []
        self._bridge: StoreBridge | None = StoreBridge.of(store)
        self._bridge.changed.connect(self._on_changes)

    #: Whether the operator has this session's question in front of them (its prompt
    #: dialog is open); set by the app. A notice about it then says nothing new.
    prompt_in_view: Callable[[str], bool] = staticmethod(lambda _session_id: False)

    def _on_changes(self, changes: StoreChanges) -> None:
        if self._asking:
            self._withdraw_answered(changes)
        for session, change in changes:
            event = event_for(session, change)
            if event is None:
                continue
            if event.kind is EventKind.NEEDS_INPUT and self.prompt_in_view(event.session_id):
                _log.info("no notice for %s: its prompt is open", event.session_id)
                continue
            self.notify(event)

    def notify(self, event: SessionEvent) -> Verdict:
        """Show ``event`` now, hold it for the end of a pause, or drop it (switched off)."""
        self.check_pause()
        verdict = self.policy.decide(event, self._clock())
        if verdict is Verdict.SEND:
            self._coalescer.push(event)
        else:
            _log.info("notice %s for %s: %s", event.kind, event.session_id, verdict)
        return verdict

    # ---- pausing -----------------------------------------------------------------------
    @property
    def paused_until(self) -> datetime | None:
        self.check_pause()
        return self.policy.paused_until

    def pause(self, until: datetime) -> None:
        """Hold the notices that can wait until ``until``; failures still go out."""
        self.policy.pause(until)
        _log.info("notifications paused until %s", until.isoformat())
        self._arm_pause_timer(until)
        self.pause_changed.emit(until)

    def resume(self) -> None:
        """Notifications on again now; what the pause held is summed up in one notice."""
        was_paused = self.policy.paused_until is not None
        self._pause_generation += 1
        self._summarise(self.policy.resume())
        if was_paused:
            _log.info("notifications resumed")
            self.pause_changed.emit(None)

    def check_pause(self) -> None:
        """End the pause if its time has passed (called by its timer and on every event)."""
        held = self.policy.expire(self._clock())
        if held is None:
            return
        self._pause_generation += 1
        _log.info("notification pause over")
        self._summarise(held)
        self.pause_changed.emit(None)

    def _arm_pause_timer(self, until: datetime) -> None:
        self._pause_generation += 1
        generation = self._pause_generation

        def fired() -> None:
            if generation != self._pause_generation:
                return  # a newer pause or a resume replaced this one
            self.check_pause()
            end = self.policy.paused_until
            if end is not None:
                self._arm_pause_timer(end)  # fired early (suspend, clock change): wait again

        delay = max(0.0, (until - self._clock()).total_seconds())
        self._schedule(delay, fired)

    def _still_relevant(self, event: SessionEvent) -> bool:
        """Whether ``event`` still says something true: a "needs input" of a session that
        no longer waits (answered, failed, cancelled) does not."""
        if event.kind is not EventKind.NEEDS_INPUT:
            return True
        session = self._store.get(event.session_id)
        return session is not None and session.state is SessionState.INPUT_REQUIRED

    def _summarise(self, held: list[SessionEvent]) -> None:
        notice = paused_summary([e for e in held if self._still_relevant(e)])
        if notice is not None:
            self._show(notice)

    # ---- showing -----------------------------------------------------------------------
    def _show(self, notice: Notice) -> None:
        try:
            handle = self.backend.show(notice, lambda key: self._acted(notice, key))
        except Exception:
            # A broken notification service must never break the app.
            _log.exception("could not show a notice via %s", self.backend.name)
            return
        if handle is not None and all(e.kind is EventKind.NEEDS_INPUT for e in notice.events):
            self._asking.append((handle, {e.session_id for e in notice.events}))

    def _withdraw_answered(self, changes: StoreChanges) -> None:
        """Take back "needs input" notices whose every session has stopped waiting."""
        left = {s.session_id for s, _ in changes if s.state is not SessionState.INPUT_REQUIRED}
        if not left:
            return
        still: list[tuple[object, set[str]]] = []
        for handle, asked in self._asking:
            waiting = asked - left
            if waiting:
                still.append((handle, waiting))
                continue
            try:
                self.backend.withdraw(handle)
            except Exception:
                _log.exception("could not withdraw a notice via %s", self.backend.name)
        self._asking = still

    def _acted(self, notice: Notice, key: str) -> None:
        action = action_for(notice, key)
        _log.info("notice %r: action %r -> %s", notice.summary, key, action)
        if action is not None:
            self._dispatch(action)

    def close(self) -> None:
        """Stop, taking back the notices still asking: their buttons die with us, and the
        next start's restart notice asks again (two notices for one run otherwise)."""
        self._pause_generation += 1
        asking, self._asking = self._asking, []
        for handle, _waiting in asking:
            with contextlib.suppress(Exception):  # on the way out: nothing left to tell
                self.backend.withdraw(handle)
        if self._bridge is not None:
            self._bridge.changed.disconnect(self._on_changes)
            self._bridge = None
        self.backend.close()

    async def aclose(self, timeout_s: float = 1.0) -> None:
        """:meth:`close`, then wait (bounded) for the backend to let go of its connection."""
        self.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.backend.closed(), timeout_s)
