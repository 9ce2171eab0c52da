"""Notices: which store events make one, coalescing of bursts, and what acting on one does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest
from PySide6.QtWidgets import QSystemTrayIcon

from tests.qt.loop_helpers import run, settle, wait_until
from tests.qt.tray_fixtures import deliver, done, failed, running, waiting
from tests.support.clock import FakeClock
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import SessionStore
from tray_app.ui.menu_model import Action, Command
from tray_app.ui.notifications import (
    Coalescer,
    EventKind,
    Notice,
    Notifier,
    NullBackend,
    SessionEvent,
    TrayMessageBackend,
    action_for,
    choose_backend,
    notice_for,
)


class ManualTimers:
    """A schedule() that fires only when the test says so."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, Callable[[], None]]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> None:
        self.pending.append((delay, callback))

    def fire(self) -> None:
        _delay, callback = self.pending.pop(0)
        callback()


class RecordingBackend:
    """Captures what would be shown and keeps each notice's action handler (the routing unit)."""

    name = "recording"

    def __init__(self) -> None:
        self.shown: list[tuple[Notice, Callable[[str], None]]] = []

    def show(self, notice: Notice, on_action: Callable[[str], None]) -> None:
        self.shown.append((notice, on_action))

    def close(self) -> None:
        pass


def event(kind: EventKind = EventKind.NEEDS_INPUT, sid: str = "s1") -> SessionEvent:
    return SessionEvent(kind, sid, f"Run {sid}", "plate_map: how many samples?")


def test_a_lone_event_is_sent_at_once_and_a_burst_becomes_one_counted_notice() -> None:
    sent: list[Notice] = []
    timers = ManualTimers()
    coalescer = Coalescer(sent.append, timers, window_s=1.5)

    coalescer.push(event(sid="a"))
    assert [n.summary for n in sent] == ["Input needed: Run a"]
    assert timers.pending[0][0] == 1.5

    coalescer.push(event(sid="b"))
    coalescer.push(event(EventKind.FAILED, sid="c"))
    coalescer.push(event(sid="d"))
    assert len(sent) == 1 and coalescer.pending == 3
    timers.fire()
    assert len(sent) == 2
    burst = sent[1]
    assert burst.summary == "3 sessions need attention (2 need input, 1 failed or abandoned)"
    assert burst.body.splitlines() == [
        "• Run b: needs input",
        "• Run c: failed",
        "• Run d: needs input",
    ]
    # The window reopened after the burst; when it closes quietly, the next event is lone again.
    timers.fire()
    assert timers.pending == []
    coalescer.push(event(sid="e"))
    assert sent[-1].summary == "Input needed: Run e"


def test_a_window_with_one_late_event_sends_it_as_a_plain_notice() -> None:
    sent: list[Notice] = []
    timers = ManualTimers()
    coalescer = Coalescer(sent.append, timers)
    coalescer.push(event(sid="a"))
    coalescer.push(event(EventKind.FAILED, sid="b"))
    timers.fire()
    assert [n.summary for n in sent] == ["Input needed: Run a", "Session failed: Run b"]


def test_a_session_that_asks_twice_in_one_burst_is_listed_once_with_its_latest_question() -> None:
    sent: list[Notice] = []
    timers = ManualTimers()
    coalescer = Coalescer(sent.append, timers)
    coalescer.push(event(sid="a"))
    first = SessionEvent(EventKind.NEEDS_INPUT, "b", "Run b", "plate_map: how many samples?")
    again = SessionEvent(EventKind.NEEDS_INPUT, "b", "Run b", "plate_map: which wells?")
    for e in (first, event(sid="c"), again):
        coalescer.push(e)
    timers.fire()
    assert sent[-1].summary == "2 sessions need attention (2 need input)"
    assert [e.session_id for e in sent[-1].events] == ["b", "c"]
    assert sent[-1].events[0].detail == "plate_map: which wells?"

    # Only the one session spoke in the window: a plain notice with its latest question.
    coalescer.push(first)
    coalescer.push(again)
    timers.fire()
    assert sent[-1].summary == "Input needed: Run b"
    assert sent[-1].body == "plate_map: which wells?"


def test_action_routing() -> None:
    ask = notice_for([event(EventKind.NEEDS_INPUT, "w")])
    assert ("answer", "Answer…") in ask.actions and ("details", "Details…") in ask.actions
    assert action_for(ask, "answer") == Action(Command.OPEN_PROMPT, "w")
    assert action_for(ask, "default") == Action(Command.OPEN_PROMPT, "w")
    assert action_for(ask, "details") == Action(Command.SHOW_DETAILS, "w")
    assert action_for(ask, "bogus") is None

    fail = notice_for([event(EventKind.FAILED, "f")])
    assert action_for(fail, "default") == Action(Command.SHOW_DETAILS, "f")
    assert action_for(fail, "details") == Action(Command.SHOW_DETAILS, "f")

    gone = notice_for([event(EventKind.ABANDONED, "g")])
    assert gone.summary == "Session abandoned: Run g"
    assert action_for(gone, "default") == Action(Command.SHOW_DETAILS, "g")

    burst = notice_for([event(sid="x"), event(sid="y")])
    assert action_for(burst, "default") == Action(Command.SHOW_SESSIONS)
    assert action_for(burst, "sessions") == Action(Command.SHOW_SESSIONS)
    assert action_for(burst, "answer") is None


def test_bursts_list_at_most_five_lines() -> None:
    burst = notice_for([event(sid=str(i)) for i in range(8)])
    assert burst.summary.startswith("8 sessions need attention")
    assert burst.body.splitlines()[-1] == "… and 3 more"
    assert len(burst.body.splitlines()) == 6


def test_notifier_turns_store_events_into_notices_and_actions(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore
) -> None:
    backend = RecordingBackend()
    dispatched: list[Action] = []
    timers = ManualTimers()
    notifier = Notifier(tray_store, backend, dispatched.append, schedule=timers)

    running(tray_store)
    done(tray_store)
    deliver(tray_store)
    assert backend.shown == []  # progress and success are not worth a notice

    ask = waiting(tray_store, "Run screen")
    deliver(tray_store)
    (notice, act) = backend.shown[0]
    assert notice.summary == "Input needed: Run screen"
    assert notice.body == "plate_map: How many samples?"
    act("answer")
    assert dispatched == [Action(Command.OPEN_PROMPT, ask.session_id)]

    # A failure and an abandonment inside the window: one notice, acting opens the window.
    broken = failed(tray_store, "Run broken")
    tray_store.transition(
        ask.session_id, SessionState.ABORTED, outcome={"code": "session_abandoned"}
    )
    deliver(tray_store)
    assert len(backend.shown) == 1
    timers.fire()
    (burst, act_burst) = backend.shown[1]
    assert burst.summary == "2 sessions need attention (2 failed or abandoned)"
    assert [e.session_id for e in burst.events] == [broken.session_id, ask.session_id]
    act_burst("default")
    assert dispatched[-1] == Action(Command.SHOW_SESSIONS)
    notifier.close()


def test_a_session_that_asks_then_fails_inside_a_window_is_told_as_failed_only(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore
) -> None:
    # The demo's "overfull plate": it asks, is answered wrongly, and fails, all within the
    # window the first notice opened; the burst says what is true when it goes out.
    backend = RecordingBackend()
    timers = ManualTimers()
    notifier = Notifier(tray_store, backend, lambda _a: None, schedule=timers)
    waiting(tray_store, "Run screen")
    deliver(tray_store)
    crowded = waiting(tray_store, "Run crowded")
    deliver(tray_store)
    tray_store.transition(
        crowded.session_id,
        SessionState.FAILED,
        outcome={"code": "plugin_gave_up", "message": "Too many prompts"},
    )
    deliver(tray_store)
    timers.fire()
    assert [notice.summary for notice, _act in backend.shown] == [
        "Input needed: Run screen",
        "Session failed: Run crowded",
    ]
    notifier.close()


class WithdrawingBackend(RecordingBackend):
    """A backend that can take a notice back: its handle is the notice's index."""

    def __init__(self) -> None:
        super().__init__()
        self.withdrawn: list[int] = []

    def show(self, notice: Notice, on_action: Callable[[str], None]) -> int:  # type: ignore[override]
        super().show(notice, on_action)
        return len(self.shown) - 1

    def withdraw(self, handle: object) -> None:
        assert isinstance(handle, int)
        self.withdrawn.append(handle)


def test_an_input_needed_notice_is_withdrawn_once_its_sessions_stop_waiting(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore
) -> None:
    backend = WithdrawingBackend()
    timers = ManualTimers()
    notifier = Notifier(tray_store, backend, lambda _a: None, schedule=timers)

    first = waiting(tray_store, "Run one")
    deliver(tray_store)
    assert backend.shown[0][0].summary == "Input needed: Run one"
    second, third = waiting(tray_store, "Run two"), waiting(tray_store, "Run three")
    deliver(tray_store)
    timers.fire()  # the two inside the window: one notice naming both
    assert [e.session_id for e in backend.shown[1][0].events] == [
        second.session_id,
        third.session_id,
    ]

    tray_store.transition(first.session_id, SessionState.PLUGIN_PASS)  # answered
    tray_store.transition(second.session_id, SessionState.PLUGIN_PASS)
    deliver(tray_store)
    assert backend.withdrawn == [0]  # the burst still asks for the third
    tray_store.transition(third.session_id, SessionState.ABORTED, outcome={"code": "cancelled"})
    deliver(tray_store)
    assert backend.withdrawn == [0, 1]
    notifier.close()


def test_gc_abandonment_notifies(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore, tray_clock: FakeClock
) -> None:
    backend = RecordingBackend()
    timers = ManualTimers()
    notifier = Notifier(tray_store, backend, lambda _a: None, schedule=timers)
    session = waiting(tray_store, "Run forgotten")
    deliver(tray_store)
    timers.fire()  # the quiet end of the window after the "needs input" notice
    tray_clock.advance(hours=2)
    report = tray_store.gc_once(abandon_after=timedelta(hours=1))
    assert report.abandoned == [session.session_id]
    deliver(tray_store)
    (notice, _act) = backend.shown[1]
    assert notice.summary == "Session abandoned: Run forgotten"
    assert notice.events[0].kind is EventKind.ABANDONED
    notifier.close()


def test_notifier_uses_a_real_single_shot_timer_for_the_window(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore
) -> None:
    backend = RecordingBackend()
    notifier = Notifier(tray_store, backend, lambda _a: None, window_s=0.05)
    waiting(tray_store, "one")
    waiting(tray_store, "two")
    waiting(tray_store, "three")
    deliver(tray_store)
    assert len(backend.shown) == 1
    wait_until(tray_loop, lambda: len(backend.shown) == 2, timeout=5)
    assert backend.shown[1][0].summary.startswith("2 sessions need attention")
    notifier.close()


def test_a_failing_backend_does_not_break_the_store(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore
) -> None:
    class Broken(RecordingBackend):
        def show(self, notice: Notice, on_action: Callable[[str], None]) -> None:
            raise RuntimeError("daemon gone")

    notifier = Notifier(tray_store, Broken(), lambda _a: None, schedule=ManualTimers())
    session = waiting(tray_store)
    deliver(tray_store)  # the notice is attempted here, and fails
    assert tray_store.get(session.session_id).state is SessionState.INPUT_REQUIRED  # type: ignore[union-attr]
    notifier.close()


def test_tray_message_backend_routes_a_click_to_default(
    tray_loop: asyncio.AbstractEventLoop,
) -> None:
    icon = QSystemTrayIcon()
    backend = TrayMessageBackend(icon)
    keys: list[str] = []
    backend.show(notice_for([event()]), keys.append)
    icon.messageClicked.emit()
    settle(tray_loop)
    assert keys == ["default"]
    backend.close()


def test_backend_choice_honours_the_override(
    tray_loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXLAB_TRAY_NOTIFICATIONS", "none")
    assert isinstance(run(tray_loop, choose_backend(QSystemTrayIcon())), NullBackend)
    # "tray" without a tray icon cannot use balloons: it degrades to none, never raises.
    monkeypatch.setenv("EXLAB_TRAY_NOTIFICATIONS", "tray")
    assert isinstance(run(tray_loop, choose_backend(None)), NullBackend)


def test_without_a_session_bus_the_choice_falls_back_without_raising(
    tray_loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EXLAB_TRAY_NOTIFICATIONS", raising=False)
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    backend = run(tray_loop, choose_backend(None))
    assert backend.name == "none"
