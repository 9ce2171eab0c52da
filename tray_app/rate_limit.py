"""At most one of something per interval (a log line, a notice), counting what it held
back: a bug that repeats, or a crowd of clients shed at once, must not flood the log or
the desktop. The clock is injected, so tests step it instead of sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["RateLimit"]


class RateLimit:
    """``allow()`` once per ``interval_s`` (the first time at once); the calls between
    are held back and counted."""

    def __init__(self, interval_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval_s = interval_s
        self._clock = clock
        self._next = float("-inf")
        self._held = 0

    def allow(self) -> int | None:
        """None when held back; else how many were held back since the last one let
        through (0 most of the time)."""
        now = self._clock()
        if now < self._next:
            self._held += 1
            return None
        held, self._held = self._held, 0
        self._next = now + self._interval_s
        return held
