"""What every helper process the tray starts does first (plugin and render workers)."""

from __future__ import annotations

import contextlib
import os
import sys


def die_with_parent(host_pid: int) -> None:
    """Linux: get SIGKILL when the host dies, so a crashed tray leaves no orphan."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    if host_pid and os.getppid() != host_pid:
        os._exit(1)  # the host is already gone


def take_stdout() -> int:
    """Keep the real stdout for the protocol only; fd 1 and sys.stdout go to stderr,
    so a stray ``print`` in loaded code cannot corrupt what the host reads."""
    sys.stdout.flush()
    protocol_fd = os.dup(1)  # not inherited by children
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return protocol_fd
