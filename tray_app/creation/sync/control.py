"""Running one attempt's programs off the loop thread, so that Quit can stop them.

An attempt runs in a worker thread; the loop thread holds its :class:`Control`
and may cancel it: the running program's process group is ended and the
attempt stops at its next step with ``interrupted``.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading

from tray_app.creation.sync.model import Code, SyncFailure

__all__ = ["Control", "classify"]


class Control:
    """Cancellation shared between the loop thread and one attempt's thread."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None

    def cancel(self) -> None:
        self.cancelled.set()
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGTERM)

    def check(self) -> None:
        if self.cancelled.is_set():
            raise SyncFailure(Code.INTERRUPTED, "The copy was stopped (ExLab Tray quit).")

    def run(
        self,
        args: list[str],
        *,
        tool: str,
        timeout: float | None = None,
        env: dict[str, str] | None = None,
        input: bytes | None = None,
    ) -> tuple[int, str, str]:
        """Run ``args`` (no shell, no terminal; ``input`` or nothing on its stdin) and
        return (code, stdout, stderr)."""
        self.check()
        try:
            process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own group, so cancel ends ssh children too
                env=env,
            )
        except FileNotFoundError as exc:
            raise SyncFailure(
                Code.TOOL_MISSING,
                f"The {tool} program is not installed on this computer.",
                transient=False,
            ) from exc
        with self._lock:
            self._process = process
        try:
            out, err = process.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise SyncFailure(Code.TIMEOUT, f"{tool} did not answer in {timeout:.0f} s.") from exc
        finally:
            with self._lock:
                self._process = None
        self.check()
        return process.returncode, out.decode(errors="replace"), err.decode(errors="replace")


# (pattern in the program's messages, code, transient); the first match wins.
_RULES: list[tuple[re.Pattern[str], str, bool]] = [
    (re.compile(p, re.IGNORECASE), code, transient)
    for p, code, transient in [
        (
            r"permission denied \(publickey|unable to authenticate|authentication fail"
            r"|no supported authentication|host key verification failed",
            Code.AUTH_REFUSED,
            False,
        ),
        (
            r"didn't find section in config file|couldn't find section|unknown remote"
            r"|not found in config file",
            Code.BAD_TARGET,
            False,
        ),
        (r"read-only file system", Code.READ_ONLY, True),
        (r"connection refused", Code.CONNECTION_REFUSED, True),
        (r"timed? ?out|timeout", Code.TIMEOUT, True),
        (r"no space left", Code.NO_SPACE, True),
        (r"input/output error", Code.IO_ERROR, True),
        (
            r"could not resolve|no route to host|network is unreachable|connection reset"
            r"|connection closed|broken pipe",
            Code.NOT_REACHABLE,
            True,
        ),
        (r"permission denied", Code.NOT_REACHABLE, True),
    ]
]

_WORDS = {
    Code.AUTH_REFUSED: "The NAS refused the login (SSH key or host key)",
    Code.BAD_TARGET: "The NAS target is not configured",
    Code.READ_ONLY: "The NAS is read-only",
    Code.CONNECTION_REFUSED: "The NAS refused the connection",
    Code.TIMEOUT: "The NAS did not answer in time",
    Code.NO_SPACE: "The NAS is full",
    Code.IO_ERROR: "An input/output error on the NAS",
    Code.NOT_REACHABLE: "The NAS is not reachable or not writable",
}


def classify(tool: str, code: int, stderr: str) -> SyncFailure:
    """Turn a program's failure into a reason: transient (retried) or permanent."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    detail = lines[-1] if lines else f"exit status {code}"
    for pattern, reason, transient in _RULES:
        if pattern.search(stderr):
            return SyncFailure(reason, f"{_WORDS[reason]}: {tool}: {detail}", transient=transient)
    return SyncFailure(Code.ERROR, f"{tool} failed (exit status {code}): {detail}")
