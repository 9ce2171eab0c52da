"""Run a controller coroutine from a Qt slot on the qasync loop and hand its outcome back.

Slots cannot await. ``run_async`` starts the coroutine as a task on the one
event loop, keeps a reference so it is not garbage-collected mid-flight, and
calls ``on_result`` or ``on_error`` on the loop thread when it ends. Failures
are always logged, so nothing is lost even without an error callback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QObject

from tray_app.creation.errors import CreationError
from tray_app.i18n import _

_log = logging.getLogger(__name__)

T = TypeVar("T")

#: Tasks in flight; asyncio only keeps weak references to tasks.
_in_flight: set[asyncio.Task[Any]] = set()


def _event_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        # A Qt slot called while the qasync loop is set but between run calls
        # (tests step the loop with run_until_complete).
        return asyncio.get_event_loop_policy().get_event_loop()


def run_async(
    coro: Coroutine[Any, Any, T],
    *,
    on_result: Callable[[T], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    owner: QObject | None = None,
    what: str = "operation",
) -> asyncio.Task[T]:
    """Start ``coro`` on the event loop; report its result or error through the callbacks.

    When ``owner`` (usually the dialog) has been deleted by the time the task
    ends, the callbacks are skipped: there is nobody left to tell.
    """
    task = _event_loop().create_task(coro)
    _in_flight.add(task)

    def finished(done: asyncio.Task[T]) -> None:
        _in_flight.discard(done)
        if done.cancelled():
            _log.debug("%s was cancelled", what)
            return
        error = done.exception()
        if error is not None:
            if isinstance(error, CreationError):
                _log.info("%s refused: %s (%s)", what, error.message, error.code)
            else:
                _log.error("%s failed", what, exc_info=error)
        if owner is not None and not shiboken6.isValid(owner):
            return
        try:
            if error is not None:
                if on_error is not None:
                    on_error(error)
            elif on_result is not None:
                on_result(done.result())
        except Exception:
            _log.exception("handling the outcome of %s failed", what)

    task.add_done_callback(finished)
    return task


def in_flight_count() -> int:
    """How many bridged tasks are still running (for shutdown and tests)."""
    return len(_in_flight)


def error_message(error: BaseException) -> str:
    """Words for a person: the CreationError's message, or a generic line for a bug."""
    if isinstance(error, CreationError):
        return error.message
    return _("Something went wrong ({error}). The details are in the log.").format(
        error=type(error).__name__
    )
