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
import tempfile
import threading
from collections.abc import Callable
from typing import IO

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
        process = self._start(args, tool, env, stdin=None if input is None else subprocess.PIPE)
        try:
            out, err = process.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise SyncFailure(Code.TIMEOUT, f"{tool} did not answer in {timeout:.0f} s.") from exc
        finally:
            self._started(None)
        self.check()
        return process.returncode, out.decode(errors="replace"), err.decode(errors="replace")

    def follow(
        self,
        args: list[str],
        *,
        tool: str,
        on_line: Callable[[str], bool],
        from_stderr: bool = False,
        env: dict[str, str] | None = None,
    ) -> tuple[int, str, str]:
        """Run ``args`` like :meth:`run`, handing each line of its stdout (or stderr) to
        ``on_line`` as it comes; lines it returns True for are left out of the result.

        The other stream goes to a file, so a program that writes much there never
        blocks on a pipe nobody reads. No timeout: the program's own (``--timeout``)."""
        with tempfile.TemporaryFile() as other:
            if from_stderr:
                process = self._start(args, tool, env, stdout=other)
            else:
                process = self._start(args, tool, env, stderr=other)
            stream = process.stderr if from_stderr else process.stdout
            assert stream is not None
            kept = []
            try:
                with stream:
                    for raw in stream:
                        line = raw.decode(errors="replace").rstrip("\n")
                        if not on_line(line):
                            kept.append(line)
                process.wait()
            finally:
                if process.poll() is None:  # on_line raised: the program must not outlive us
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                self._started(None)
            other.seek(0)
            rest = other.read().decode(errors="replace")
        self.check()
        text = "".join(f"{line}\n" for line in kept)
        return (process.returncode, rest, text) if from_stderr else (process.returncode, text, rest)

    def _start(
        self,
        args: list[str],
        tool: str,
        env: dict[str, str] | None,
        *,
        stdin: int | None = None,
        stdout: int | IO[bytes] = subprocess.PIPE,
        stderr: int | IO[bytes] = subprocess.PIPE,
    ) -> subprocess.Popen[bytes]:
        self.check()
        try:
            process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL if stdin is None else stdin,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,  # its own group, so cancel ends ssh children too
                env=env,
            )
        except FileNotFoundError as exc:
            raise SyncFailure(
                Code.TOOL_MISSING,
                f"The {tool} program is not installed on this computer.",
                transient=False,
            ) from exc
        self._started(process)
        return process

    def _started(self, process: subprocess.Popen[bytes] | None) -> None:
        with self._lock:
            self._process = process


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
