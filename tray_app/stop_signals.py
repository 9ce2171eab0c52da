"""SIGTERM and SIGINT on the event loop: the one way ``serve`` and the desktop app are
asked to stop from outside (systemd, a session logout, Ctrl+C)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

__all__ = ["STOP_SIGNALS", "drop_stop_signals", "on_stop_signals"]

_log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def on_stop_signals(loop: asyncio.AbstractEventLoop, handler: Callable[[int], object]) -> None:
    """Call ``handler(signum)`` on the loop for each stop signal."""
    for signum in STOP_SIGNALS:
        try:
            loop.add_signal_handler(signum, handler, signum)
        except NotImplementedError:
            # Windows: no loop signal handlers; wake the loop from the C handler.
            signal.signal(signum, lambda s, _frame: loop.call_soon_threadsafe(handler, s))
        except (RuntimeError, ValueError):
            _log.warning("not in the main thread: %s will not stop ExLab Tray", signum.name)


def drop_stop_signals(loop: asyncio.AbstractEventLoop) -> None:
    """Take the handlers off again (shutting down: the loop is about to close)."""
    for signum in STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signum)
