"""Tests that install packages into /opt take turns on the machine, leaving no lock file.

Two runs at once (two checkouts, or a developer and CI) would remove each other's package.
The lock is an flock on /opt itself: a folder every such test installs into, that is there
before and after, so nothing is left behind in /tmp.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator


@contextlib.contextmanager
def opt_lock() -> Iterator[None]:
    os.makedirs("/opt", exist_ok=True)
    fd = os.open("/opt", os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
