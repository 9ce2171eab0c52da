"""Qt timers made the one way this app uses them: owned by a QObject (so they stop with
it) and calling one slot; single-shot unless they repeat on purpose."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

__all__ = ["make_timer"]


def make_timer(
    owner: QObject, slot: Callable[[], object], interval_ms: int = 0, *, repeat: bool = False
) -> QTimer:
    """A stopped timer of ``owner`` that calls ``slot``: once per ``start()`` (a 0 ms
    one runs it on the next loop turn, coalescing a burst), or every ``interval_ms``
    with ``repeat``."""
    timer = QTimer(owner)
    timer.setSingleShot(not repeat)
    timer.setInterval(interval_ms)
    timer.timeout.connect(slot)
    return timer
