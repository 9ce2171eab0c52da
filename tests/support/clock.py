"""A settable fake clock that tests inject into the session store: time moves only on request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

#: Where a clock starts unless a test folder names its own moment.
DEFAULT_START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class FakeClock:
    """A UTC clock (``clock()`` gives the time) that only moves when the test says so."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move the clock forward by ``timedelta(**delta)`` and return the new time."""
        self.now += timedelta(**delta)
        return self.now
