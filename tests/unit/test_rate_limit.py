"""The one rate limit (log lines, notices): once per interval, the rest counted; the
clock is stepped, never slept on."""

from __future__ import annotations

from tray_app.rate_limit import RateLimit


def test_lets_one_through_per_interval_and_counts_what_it_held_back() -> None:
    now = [500.0]
    limit = RateLimit(60.0, clock=lambda: now[0])
    assert limit.allow() == 0  # the first at once
    now[0] += 1.0
    assert limit.allow() is None
    now[0] += 58.0
    assert limit.allow() is None
    now[0] += 1.0  # a whole interval after the one let through
    assert limit.allow() == 2
    assert limit.allow() is None
    now[0] += 600.0
    assert limit.allow() == 1
    now[0] += 60.0
    assert limit.allow() == 0
