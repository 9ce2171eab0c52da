"""The tray's handle on its render worker process (see :mod:`render_worker`).

One worker renders one request at a time. It starts on first use or on
:meth:`RenderProcess.warm` (the tray warms it when the operator opens New…),
and is let go after ``idle_s`` without a render: its stdin is closed and it
exits, so an idle tray holds no Copier. A worker that dies is replaced by the
next render; the render it was doing fails with ``render_failed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tray_app.creation import render_worker
from tray_app.creation.plugins.host import kill_process_group, worker_env
from tray_app.creation.render import RenderError
from tray_app.loop_timer import LoopTimer

__all__ = ["RenderProcess", "render_worker_command"]

_log = logging.getLogger(__name__)

Process = asyncio.subprocess.Process

#: A worker unused for this long exits; the next render starts a new one.
IDLE_S = 300.0
#: Starting the worker imports Copier (~0.5 s here); a loaded machine gets slack.
START_TIMEOUT_S = 60.0
_REAP_TIMEOUT_S = 5.0
#: Tries to start a worker before the render that needs it fails.
START_ATTEMPTS = 2


def render_worker_command() -> list[str]:
    """The frozen binary re-enters itself with ``--render-worker``; from source it is
    ``python -m tray_app.creation.render_worker``."""
    args = ["--host-pid", str(os.getpid())]
    if getattr(sys, "frozen", False):
        return [sys.executable, render_worker.FLAG, *args]
    return [sys.executable, "-m", render_worker.MODULE, *args]


class RenderProcess:
    """Renders templates in the worker process. Belongs to one event loop."""

    def __init__(
        self,
        *,
        idle_s: float = IDLE_S,
        start_timeout_s: float = START_TIMEOUT_S,
        command: Sequence[str] | None = None,
    ) -> None:
        self.idle_s = idle_s
        self._start_timeout_s = start_timeout_s
        self._command = list(command) if command is not None else None
        self._proc: Process | None = None
        self._starting: asyncio.Task[Process] | None = None
        self._lock = asyncio.Lock()
        #: Lets the worker go after ``idle_s`` without a render.
        self._idle_timer = LoopTimer(self._let_go)
        self._closed = False
        # The loop keeps only weak references to tasks; these must run to the end.
        self._stopping: set[asyncio.Task[int | None]] = set()

    @property
    def running(self) -> bool:
        """True while a worker process is up (started, not yet let go)."""
        return self._proc is not None and self._proc.returncode is None

    def warm(self) -> None:
        """Start the worker in the background unless it is up or on its way."""
        if self._closed or self.running or self._starting is not None:
            return
        self._starting = asyncio.get_running_loop().create_task(self._start())
        self._starting.add_done_callback(self._started)

    async def ready(self) -> None:
        """Start the worker if it is not up, and wait until it is; raises RenderError."""
        await self._ready()

    async def render(self, template_dir: Path, destination: Path, data: dict[str, Any]) -> None:
        """Render ``template_dir`` into ``destination``; raises :class:`RenderError`."""
        try:
            request = render_worker.encode_frame(
                ("render", str(template_dir), str(destination), data)
            )
        except Exception as exc:  # a variable that cannot cross to the worker
            raise RenderError("render_failed", f"template variables: {exc}") from exc
        async with self._lock:
            self._idle_timer.cancel()
            try:
                proc = await self._ready()
                reply = await self._exchange(proc, request)
            finally:
                self._arm_idle_timer()
        if reply[0] == "ok":
            return
        _status, code, message = reply
        raise RenderError(str(code), str(message))

    async def aclose(self) -> None:
        """Stop the worker (killed if it is rendering) and refuse further renders."""
        self._closed = True
        self._idle_timer.cancel()
        if self._starting is not None:
            self._starting.cancel()
            with contextlib.suppress(BaseException):
                await self._starting
        proc, self._proc = self._proc, None
        if proc is not None:
            await _stop(proc, kill=True)
        if self._stopping:
            await asyncio.wait(self._stopping, timeout=_REAP_TIMEOUT_S)

    # ---- the worker's life -----------------------------------------------------------
    async def _ready(self) -> Process:
        if self._closed:
            raise RenderError("render_failed", "ExLab Tray is shutting down.")
        if self.running:
            assert self._proc is not None
            return self._proc
        # A start that failed for a passing reason (fork refused, say) gets one more
        # try; a worker that starts and exits at once (a RenderError) does not.
        for attempt in range(1, START_ATTEMPTS + 1):
            if self._starting is not None and self._starting.done():
                self._starting = None  # its done-callback has not run yet
            self.warm()
            assert self._starting is not None
            try:
                return await asyncio.shield(self._starting)
            except RenderError:
                raise
            except Exception as exc:
                if attempt == START_ATTEMPTS:
                    raise RenderError(
                        "render_failed", f"could not start the renderer: {exc}"
                    ) from exc
        raise AssertionError("unreachable")

    async def _start(self) -> Process:
        command = self._command or render_worker_command()
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=worker_env(),
            start_new_session=True,
        )
        try:
            async with asyncio.timeout(self._start_timeout_s):
                hello = await _read_frame(proc)
        except BaseException:
            await _stop(proc, kill=True)
            raise
        if hello is None or hello[0] != "ready":
            code = await _stop(proc, kill=True)
            raise RenderError("render_failed", f"the renderer did not start (exit code {code})")
        _log.info("render worker %d ready", proc.pid)
        return proc

    def _started(self, task: asyncio.Task[Process]) -> None:
        self._starting = None
        if task.cancelled():
            return
        failure = task.exception()
        if failure is not None:
            # A render waiting on this start reports it too; a warm-up has nobody else.
            _log.warning("render worker did not start: %s", failure)
            return
        proc = task.result()
        if self._closed:
            self._stop_later(proc, kill=True)
            return
        self._proc = proc
        self._arm_idle_timer()

    async def _exchange(self, proc: Process, request: bytes) -> tuple[Any, ...]:
        assert proc.stdin is not None
        try:
            proc.stdin.write(request)
            await proc.stdin.drain()
            reply = await _read_frame(proc)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            reply = None
            _log.debug("render worker %d: %r", proc.pid, exc)
        if reply is None:
            # The worker died mid-render (killed, out of memory, a crash in C code).
            self._proc = None
            code = await _stop(proc, kill=True)
            raise RenderError(
                "render_failed", f"the renderer stopped while rendering (exit code {code})"
            )
        return reply

    # ---- letting go when idle -----------------------------------------------------------
    def _arm_idle_timer(self) -> None:
        self._idle_timer.cancel()
        if self._proc is not None and not self._closed:
            self._idle_timer.start(self.idle_s)

    def _let_go(self) -> None:
        if self._lock.locked():  # a render started meanwhile; it re-arms the timer
            return
        proc, self._proc = self._proc, None
        if proc is not None:
            _log.info("render worker %d idle for %.0f s: letting it go", proc.pid, self.idle_s)
            self._stop_later(proc, kill=False)

    def _stop_later(self, proc: Process, *, kill: bool) -> None:
        task = asyncio.get_running_loop().create_task(_stop(proc, kill=kill))
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)


async def _read_frame(proc: Process) -> tuple[Any, ...] | None:
    """The worker's next message, or None when its stdout ended."""
    assert proc.stdout is not None
    try:
        header = await proc.stdout.readexactly(4)
        body = await proc.stdout.readexactly(render_worker.frame_length(header))
    except asyncio.IncompleteReadError:
        return None
    return render_worker.decode_frame(body)


async def _stop(proc: Process, *, kill: bool) -> int | None:
    """Close the worker's stdin (it exits), or kill it; then reap it. Its exit code."""
    if proc.stdin is not None:
        with contextlib.suppress(Exception):
            proc.stdin.close()
    if kill:
        kill_process_group(proc)
    try:
        return await asyncio.wait_for(proc.wait(), _REAP_TIMEOUT_S)
    except TimeoutError:
        kill_process_group(proc)
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(proc.wait(), _REAP_TIMEOUT_S)
    return proc.returncode
