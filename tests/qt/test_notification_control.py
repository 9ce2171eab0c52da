"""Notification control in the tray: per-kind switches from settings, "Pause notifications"
in the menu, failures that still get through, and the summary when the pause ends.

The pause's end is a timer the test fires itself, against a fake clock: no sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.qt.loop_helpers import run, settle
from tests.qt.tray_fixtures import START, deliver, failed, waiting
from tests.support.clock import FakeClock
from tray_app.app import DesktopApp
from tray_app.config import NotificationSettings
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import SessionStore
from tray_app.ui.menu_model import Action, Command, IconState
from tray_app.ui.notification_policy import EventKind, NotificationPolicy, SessionEvent, Verdict
from tray_app.ui.notifications import Notice, Notifier, NullBackend
from tray_app.ui.tray import Tray, find_action
from tray_app.ui.tray_host import label_text


class Timers:
    """A schedule() that fires only when the test says so, picked by its delay."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, Callable[[], None]]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> None:
        self.pending.append((delay, callback))

    def fire_shortest(self) -> float:
        """Fire a burst window's end (the pause timer is the long one)."""
        index = min(range(len(self.pending)), key=lambda i: self.pending[i][0])
        delay, callback = self.pending.pop(index)
        callback()
        return delay

    def fire_longest(self) -> float:
        """Fire the pause timer (the burst windows are short)."""
        index = max(range(len(self.pending)), key=lambda i: self.pending[i][0])
        delay, callback = self.pending.pop(index)
        callback()
        return delay


class Recording:
    name = "recording"

    def __init__(self) -> None:
        self.shown: list[Notice] = []
        self.handlers: list[Callable[[str], None]] = []

    def show(self, notice: Notice, on_action: Callable[[str], None]) -> None:
        self.shown.append(notice)
        self.handlers.append(on_action)

    def close(self) -> None:
        pass

    async def closed(self) -> None:
        pass


def test_a_pause_holds_questions_lets_failures_through_and_sums_up_at_its_end(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore, tray_clock: FakeClock
) -> None:
    backend, timers, dispatched = Recording(), Timers(), []
    notifier = Notifier(tray_store, backend, dispatched.append, schedule=timers, clock=tray_clock)
    ends: list[datetime | None] = []
    notifier.pause_changed.connect(ends.append)
    tray = Tray(tray_store)

    notifier.pause(tray_clock() + timedelta(hours=1))
    assert ends == [tray_clock() + timedelta(hours=1)]
    first = waiting(tray_store, "Run asked first")
    answered = waiting(tray_store, "Run answered meanwhile")
    deliver(tray_store)
    assert backend.shown == []  # held
    broken = failed(tray_store, "Run broken")
    deliver(tray_store)
    assert [n.summary for n in backend.shown] == ["Session failed: Run broken"]
    assert backend.shown[0].events[0].session_id == broken.session_id

    # The menu and the icon keep showing everything while paused.
    settle(tray_loop)
    assert tray.model.counts.waiting == 2
    assert tray.model.icon_state is IconState.NEEDS_INPUT
    assert tray.model.counts.failed_unseen == 1
    assert find_action(tray.menu, "Run asked first") is not None

    # Someone answers one of them (here: it is cancelled) before the pause ends.
    tray_store.transition(answered.session_id, SessionState.ABORTED, outcome={"code": "cancelled"})
    deliver(tray_store)

    # The timer fires early (a suspend, a clock change): the pause goes on and re-arms.
    tray_clock.advance(minutes=40)
    assert timers.fire_longest() == 3600
    assert ends[-1] is not None and len(backend.shown) == 1
    tray_clock.advance(minutes=20)
    assert timers.fire_longest() == pytest.approx(20 * 60)

    assert ends[-1] is None
    summary = backend.shown[-1]
    # Only the question that still waits is summed up; acting on it opens its prompt.
    assert summary.summary == "While notifications were paused: Input needed: Run asked first"
    assert [e.session_id for e in summary.events] == [first.session_id]
    backend.handlers[-1]("answer")
    assert dispatched == [Action(Command.OPEN_PROMPT, first.session_id)]

    # Back to normal: once the failure's burst window closes, the next question notifies.
    assert timers.fire_shortest() == 1.5
    waiting(tray_store, "Run after")
    deliver(tray_store)
    assert backend.shown[-1].summary == "Input needed: Run after"
    tray.close()
    notifier.close()


def test_several_held_questions_become_one_counted_notice_on_resume(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore, tray_clock: FakeClock
) -> None:
    backend, timers = Recording(), Timers()
    notifier = Notifier(tray_store, backend, lambda _a: None, schedule=timers, clock=tray_clock)
    notifier.pause(tray_clock() + timedelta(hours=1))
    for name in ("a", "b", "c"):
        waiting(tray_store, f"Run {name}")
    gone = waiting(tray_store, "Run gone")
    tray_store.transition(
        gone.session_id, SessionState.ABORTED, outcome={"code": "session_abandoned"}
    )
    deliver(tray_store)
    assert backend.shown == []
    notifier.resume()
    (summary,) = backend.shown
    assert summary.summary == (
        "While notifications were paused: 4 sessions (3 need input, 1 abandoned)"
    )
    assert summary.body.splitlines() == [
        "• Run a: needs input",
        "• Run b: needs input",
        "• Run c: needs input",
        "• Run gone: abandoned",
    ]
    # The stale pause timer does nothing after a resume.
    timers.fire_longest()
    assert len(backend.shown) == 1
    notifier.close()


def test_kinds_switched_off_never_notify_and_sync_problems_come_through_notify(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore, tray_clock: FakeClock
) -> None:
    backend = Recording()
    policy = NotificationPolicy(NotificationSettings(failed=False))
    notifier = Notifier(
        tray_store, backend, lambda _a: None, schedule=Timers(), policy=policy, clock=tray_clock
    )
    failed(tray_store, "Run broken")
    deliver(tray_store)
    assert backend.shown == []
    notifier.pause(tray_clock() + timedelta(hours=1))
    problem = SessionEvent(EventKind.SYNC_PROBLEM, "s9", "Run copied", "NAS not mounted")
    assert notifier.notify(problem) is Verdict.SEND
    assert backend.shown[-1].summary == "NAS sync problem: Run copied"
    assert backend.shown[-1].body == "NAS not mounted"
    notifier.close()


# ---- through the real app and its menu -----------------------------------------------------


@pytest.fixture
def desktop(make_app: Any) -> tuple[DesktopApp, FakeClock]:
    clock = FakeClock(START)
    app, _task = make_app(clock=clock, settings={"notifications": {"abandoned": False}})
    return app, clock


def _trigger(app: DesktopApp, text: str) -> None:
    action = find_action(app.tray.menu, text)
    assert action is not None, [a.text() for a in app.tray.menu.actions()]
    action.trigger()


def test_the_menu_pauses_and_resumes_notifications(
    tray_loop: asyncio.AbstractEventLoop, desktop: tuple[DesktopApp, FakeClock]
) -> None:
    app, clock = desktop
    assert isinstance(app.notifier.backend, NullBackend)
    # The settings' switches reach the policy.
    assert app.notifier.policy.switches.abandoned is False
    assert app.notifier.policy.switches.needs_input is True

    _trigger(app, "For 1 hour")
    settle(tray_loop)
    assert app.notifier.paused_until == START + timedelta(hours=1)
    assert app.tray.flags.notifications_paused_until == START + timedelta(hours=1)
    from tray_app.ui.pause_memory import PAUSE_KEY
    from tray_app.ui.ui_memory import ui_state

    assert ui_state().value(PAUSE_KEY) == (START + timedelta(hours=1)).isoformat()  # kept
    assert find_action(app.tray.menu, "Resume notifications (paused until ") is not None

    waiting(app.store, "Run held")
    settle(tray_loop)
    assert app.notifier.backend.shown == []  # type: ignore[attr-defined]
    assert app.tray.model.counts.waiting == 1  # the menu still shows it

    _trigger(app, "Resume notifications (paused until ")
    settle(tray_loop)
    assert app.notifier.paused_until is None
    assert find_action(app.tray.menu, "Pause notifications") is not None
    shown = app.notifier.backend.shown  # type: ignore[attr-defined]
    assert [n.summary for n in shown] == ["While notifications were paused: Input needed: Run held"]

    _trigger(app, "Until tomorrow morning")
    settle(tray_loop)
    end = app.notifier.paused_until
    assert end is not None and end.astimezone().hour == 8
    assert end.astimezone().date() == (clock().astimezone() + timedelta(days=1)).date()
    resume = find_action(app.tray.menu, "Resume notifications")
    assert resume is not None
    assert label_text(resume.text(), dbus_menu=False).endswith("(paused until tomorrow 08:00)")


def test_menu_entries_have_mnemonics(
    tray_loop: asyncio.AbstractEventLoop, desktop: tuple[DesktopApp, FakeClock]
) -> None:
    app, _clock = desktop
    marked: dict[str, str] = {}
    for action in app.tray.menu.actions():
        text = action.text()
        if action.isSeparator() or not action.isEnabled() or not text:
            continue
        at = text.replace("&&", "").find("&")
        assert at >= 0, f"no mnemonic in {text!r}"
        letter = text.replace("&&", "")[at + 1].lower()
        assert letter not in marked, f"{text!r} and {marked.get(letter)!r} share &{letter}"
        marked[letter] = text
    assert {"n", "q", "p", "v"} <= set(marked)


def test_reloaded_settings_reach_the_switches_and_the_log_level(
    tray_loop: asyncio.AbstractEventLoop, desktop: tuple[DesktopApp, FakeClock]
) -> None:
    import logging

    from tray_app import logs

    app, _clock = desktop
    root = logging.getLogger()
    logs.setup_logging()  # the tray's handlers, as main() sets them up
    ours = [h for h in root.handlers if getattr(h, "_exlab", None)]
    try:
        check_reload(tray_loop, app)
    finally:
        for handler in ours:
            root.removeHandler(handler)
            handler.close()


def check_reload(tray_loop: asyncio.AbstractEventLoop, app: DesktopApp) -> None:
    import logging

    from tray_app import paths

    path = paths.settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('log_level = "debug"\n[notifications]\nneeds_input = false\n')
    run(tray_loop, app.settings_follower.reload())
    assert app.notifier.policy.switches.needs_input is False
    file_handlers = [
        h for h in logging.getLogger().handlers if getattr(h, "_exlab", None) == "file"
    ]
    assert [h.level for h in file_handlers] == [logging.DEBUG]
    waiting(app.store, "Run quiet")
    settle(tray_loop)
    assert app.notifier.backend.shown == []  # type: ignore[attr-defined]
    assert app.tray.model.counts.waiting == 1


def test_a_pause_outlives_a_restart_and_an_ended_one_is_forgotten(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore, tray_clock: FakeClock
) -> None:
    from tray_app.ui.pause_memory import remember_pause, restore_pause

    first = Notifier(tray_store, Recording(), lambda _a: None, schedule=Timers(), clock=tray_clock)
    first.pause_changed.connect(remember_pause)
    until = tray_clock() + timedelta(hours=1)
    first.pause(until)
    first.close()

    # The next start (a new notifier) is paused until the same moment.
    again = Notifier(tray_store, Recording(), lambda _a: None, schedule=Timers(), clock=tray_clock)
    assert restore_pause(again, tray_clock()) == until
    assert again.paused_until == until
    again.pause_changed.connect(remember_pause)
    again.resume()
    again.close()
    later = Notifier(tray_store, Recording(), lambda _a: None, schedule=Timers(), clock=tray_clock)
    assert restore_pause(later, tray_clock()) is None  # resumed: nothing remembered
    remember_pause(tray_clock() - timedelta(minutes=1))  # a pause that ended while stopped
    assert restore_pause(later, tray_clock()) is None
    assert later.paused_until is None
    later.close()
