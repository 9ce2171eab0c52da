"""A one-shot timer on the asyncio loop that can be pushed back or stopped: the deadlines
and idle timeouts of the layers above (``ui/timers.py`` is the Qt side of the same job).

No Qt; cheap to make (no handle until started), so one can sit on every connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["LoopTimer"]


class LoopTimer:
    """Calls ``callback`` once, ``delay_s`` after the latest :meth:`start`, unless cancelled.

    ``loop``: the loop to run on; None takes the running loop when started.
    """

    __slots__ = ("_callback", "_handle", "_loop")

    def __init__(
        self, callback: Callable[[], object], loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        self._callback = callback
        self._loop = loop
        self._handle: asyncio.TimerHandle | None = None

    @property
    def active(self) -> bool:
        """Started and neither fired nor cancelled yet."""
        return self._handle is not None

    def start(self, delay_s: float) -> None:
        """(Re)start: the callback comes ``delay_s`` from now, not at an earlier start's time."""
        self.cancel()
        loop = self._loop or asyncio.get_running_loop()
        self._handle = loop.call_later(delay_s, self._fire)

    def cancel(self) -> None:
        """Stop it; nothing happens when it is not running."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        self._callback()
