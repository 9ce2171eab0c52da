"""Tells the queue at once when a filesystem is mounted, unmounted or remounted (Linux).

The kernel marks ``/proc/self/mountinfo`` with POLLPRI on every change of the
mount table; a small thread waits on that and calls back on the loop. Where
there is no such file the watcher does nothing (the retry schedule still runs).

A thread blocked in poll(), not a reader on the loop: the file is always readable
(POLLIN), and neither asyncio's selector readers nor Qt's socket notifiers (qasync)
wait for POLLPRI alone, so a reader would fire on every loop turn. The thread sleeps
in the kernel until the table changes: no timer, no periodic wakeup.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import threading
from collections.abc import Callable

__all__ = ["MountWatcher"]

_log = logging.getLogger(__name__)
_MOUNTINFO = "/proc/self/mountinfo"


class MountWatcher:
    def __init__(self, on_change: Callable[[], None]) -> None:
        self._on_change = on_change
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = -1, -1

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._thread is not None or not hasattr(select, "poll"):
            return
        try:
            fd = os.open(_MOUNTINFO, os.O_RDONLY)
        except OSError:
            return
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(
            target=self._watch, args=(fd, loop), name="exlab-sync-mounts", daemon=True
        )
        self._thread.start()

    def _watch(self, fd: int, loop: asyncio.AbstractEventLoop) -> None:
        poller = select.poll()
        poller.register(fd, select.POLLPRI | select.POLLERR)
        poller.register(self._wake_r, select.POLLIN)
        try:
            _drain(fd)
            while True:
                events = poller.poll()
                if any(ready == self._wake_r for ready, _ in events):
                    return
                _drain(fd)  # re-reading clears the mark until the next change
                try:
                    loop.call_soon_threadsafe(self._on_change)
                except RuntimeError:  # the loop is closed
                    return
        except OSError as exc:
            _log.warning("mount watcher stopped: %s", exc)
        finally:
            os.close(fd)

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        thread.join(timeout=5)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


def _drain(fd: int) -> None:
    os.lseek(fd, 0, os.SEEK_SET)
    while os.read(fd, 65536):
        pass
