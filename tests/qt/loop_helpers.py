"""The qasync loop every Qt test shares, and the helpers that step it (run, wait_until, settle).

Qt tests are plain functions that step the loop themselves: coroutines advance only inside
``loop.run_until_complete``, so :func:`wait_until` runs the loop with an ``asyncio.sleep``
poll (never ``qtbot.wait`` inside a coroutine), and teardown waits for leftover tasks with a
bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import qasync
from PySide6.QtWidgets import QApplication

T = TypeVar("T")

_shared_loop: asyncio.AbstractEventLoop | None = None


class _Dispatch:
    """A scheduled callback that runs with its loop as the running loop, whoever dispatches it.

    qasync runs every callback from a Qt timer event. Qt dispatches those events in the app
    only inside ``QApplication.exec()``, where qasync has made the loop the running one. The
    tests also leave Qt events to others between two ``run_until_complete`` calls (qasync's
    own last ``processEvents`` after a run, pytest-qt's ``qtbot`` waits and key clicks); a
    task stepped there met "no running event loop" (in ``asyncio.to_thread``,
    ``create_task``, ``get_running_loop``). This makes the test loop behave as the app's
    does, so a failure in a test is a failure of the code.
    """

    __slots__ = ("_handle", "_loop")

    def __init__(self, handle: asyncio.Handle, loop: asyncio.AbstractEventLoop) -> None:
        self._handle = handle
        self._loop = loop

    @property
    def _cancelled(self) -> bool:  # read by qasync's timer before it runs a callback
        return self._handle.cancelled()

    def _run(self) -> None:
        if asyncio._get_running_loop() is not None:
            self._handle._run()
            return
        asyncio._set_running_loop(self._loop)
        try:
            self._handle._run()
        finally:
            asyncio._set_running_loop(None)


class _TestLoop(qasync.QEventLoop):  # type: ignore[misc]  # qasync has no type hints
    """qasync's loop whose callbacks always see it running (see :class:`_Dispatch`)."""

    def _add_callback(self, handle: asyncio.Handle, delay: float = 0) -> asyncio.Handle:
        self._timer.add_callback(_Dispatch(handle, self), delay)
        return handle


def shared_qasync_loop(qapp: QApplication) -> asyncio.AbstractEventLoop:
    """The one qasync loop of the test process (made on first use)."""
    # One qasync loop for all Qt tests: creating and closing a QEventLoop per test
    # leaves Qt socket notifiers and executor threads behind, and after a few
    # rounds the process crashed inside QApplication.exec().
    global _shared_loop  # noqa: PLW0603
    if _shared_loop is None or _shared_loop.is_closed():
        _shared_loop = _TestLoop(qapp)
        # Plain Python threads for asyncio.to_thread: qasync's default QThread pool
        # is never shut down here, and Qt aborts when QThreads outlive the app.
        _shared_loop.set_default_executor(ThreadPoolExecutor(4, thread_name_prefix="test-io"))
    return _shared_loop


def loop_for_test(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """Fixture body: the shared loop as the current one; leftover tasks cancelled, bounded."""
    loop = shared_qasync_loop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=5))
    asyncio.set_event_loop(None)


def run(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
    """Run one coroutine to its end on the qasync loop, bounded."""
    return loop.run_until_complete(asyncio.wait_for(coro, timeout))


def wait_until(
    loop: asyncio.AbstractEventLoop, predicate: Callable[[], bool], timeout: float = 30
) -> None:
    """Step the loop (tasks and Qt events) until ``predicate()`` holds; fail after ``timeout``."""

    async def poll() -> None:
        while not predicate():  # noqa: ASYNC110 - the predicate reads plain or Qt state, no event
            await asyncio.sleep(0.01)

    try:
        run(loop, poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"condition not met within {timeout} s") from None


def settle(loop: asyncio.AbstractEventLoop, turns: int = 3, pause_s: float = 0.005) -> None:
    """Let zero-delay timers and ready callbacks run ``turns`` loop turns of ``pause_s`` each."""

    async def spin() -> None:
        for _ in range(turns):
            await asyncio.sleep(pause_s)

    run(loop, spin())
