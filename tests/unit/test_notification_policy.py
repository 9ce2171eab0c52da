"""Notification control without Qt: per-kind switches, the pause and what it holds back."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tray_app.config import NotificationSettings
from tray_app.ui.notification_policy import (
    EventKind,
    NotificationPolicy,
    PauseChoice,
    SessionEvent,
    Verdict,
    pause_end,
)

NOW = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)


def event(kind: EventKind, sid: str = "s1") -> SessionEvent:
    return SessionEvent(kind, sid, f"Run {sid}", "detail")


@pytest.fixture
def berlin() -> Iterator[None]:
    """The local time zone is Europe/Berlin for the test (pause ends are local times)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Berlin"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_every_kind_goes_out_by_default() -> None:
    policy = NotificationPolicy()
    for kind in EventKind:
        assert policy.decide(event(kind), NOW) is Verdict.SEND
    assert policy.held == ()


def test_a_kind_switched_off_in_settings_is_dropped_and_others_still_go_out() -> None:
    policy = NotificationPolicy(NotificationSettings(needs_input=False, sync_problems=False))
    assert policy.decide(event(EventKind.NEEDS_INPUT), NOW) is Verdict.DROP
    assert policy.decide(event(EventKind.SYNC_PROBLEM), NOW) is Verdict.DROP
    assert policy.decide(event(EventKind.FAILED), NOW) is Verdict.SEND
    assert policy.decide(event(EventKind.ABANDONED), NOW) is Verdict.SEND
    # Switched off means off, paused or not: nothing is held for a summary either.
    policy.pause(NOW + timedelta(hours=1))
    assert policy.decide(event(EventKind.NEEDS_INPUT), NOW) is Verdict.DROP
    assert policy.held == ()


def test_while_paused_failures_and_sync_problems_still_go_out_the_rest_is_held() -> None:
    policy = NotificationPolicy()
    policy.pause(pause_end(PauseChoice.HOUR, NOW))
    assert policy.paused_until == NOW + timedelta(hours=1)
    assert policy.decide(event(EventKind.FAILED, "f"), NOW) is Verdict.SEND
    assert policy.decide(event(EventKind.SYNC_PROBLEM, "n"), NOW) is Verdict.SEND
    asked = event(EventKind.NEEDS_INPUT, "w")
    gone = event(EventKind.ABANDONED, "g")
    assert policy.decide(asked, NOW + timedelta(minutes=10)) is Verdict.HOLD
    assert policy.decide(gone, NOW + timedelta(minutes=20)) is Verdict.HOLD
    assert policy.held == (asked, gone)

    # Not over yet: nothing comes back.
    assert policy.expire(NOW + timedelta(minutes=59)) is None
    assert policy.is_paused(NOW + timedelta(minutes=59))
    # Over: the held ones come back once, oldest first, and notices flow again.
    assert policy.expire(NOW + timedelta(hours=1)) == [asked, gone]
    assert policy.paused_until is None and policy.held == ()
    assert policy.expire(NOW + timedelta(hours=2)) is None
    assert policy.decide(event(EventKind.NEEDS_INPUT, "x"), NOW + timedelta(hours=2)) is (
        Verdict.SEND
    )


def test_resume_ends_the_pause_early_and_a_new_pause_replaces_the_end() -> None:
    policy = NotificationPolicy()
    policy.pause(NOW + timedelta(hours=1))
    held = event(EventKind.NEEDS_INPUT)
    policy.decide(held, NOW)
    policy.pause(NOW + timedelta(hours=5))
    assert policy.paused_until == NOW + timedelta(hours=5)
    assert policy.held == (held,)  # kept across the change of end
    assert policy.resume() == [held]
    assert not policy.is_paused(NOW)


def test_until_tomorrow_ends_at_eight_in_the_morning_local_time(berlin: None) -> None:
    # 17:30 UTC is 18:30 in Berlin: the pause ends tomorrow at 08:00 Berlin (07:00 UTC).
    assert pause_end(PauseChoice.TOMORROW, NOW) == datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
    # Chosen at 00:30 Berlin (23:30 UTC the day before): still "tomorrow" by the calendar.
    late = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
    assert pause_end(PauseChoice.TOMORROW, late) == datetime(2026, 11, 29, 7, 0, tzinfo=UTC)


def test_until_tomorrow_follows_a_daylight_saving_change(berlin: None) -> None:
    # Berlin goes from CEST (+2) to CET (+1) in the night to 2026-10-25.
    evening = datetime(2026, 10, 24, 18, 0, tzinfo=UTC)  # 20:00 CEST
    assert pause_end(PauseChoice.TOMORROW, evening) == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)
