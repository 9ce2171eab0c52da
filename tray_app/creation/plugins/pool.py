"""A warm plugin worker: one spare worker process kept started and idle (blocked
reading stdin, no CPU), so a plugin call pays for the plugin, not for starting Python.

Every process is used for ONE call; the next spare starts in the background when
the spare is taken (3+ CPUs) or when the call ends (fewer CPUs, where starting
Python would slow the call down). The spare is only looked at when it is taken:
an idle pool never wakes the event loop. A spare that died meanwhile is
replaced. Workers set the Linux parent-death signal, so even a crashed host
leaves no spare behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable

from tray_app.creation.plugins.host import kill_process_group, start_worker

Process = asyncio.subprocess.Process

#: Bound on waiting for a killed worker to be reaped and its pipes to close.
_REAP_TIMEOUT_S = 5.0
#: Fresh spares found dead in a row before one is handed out anyway (its exit
#: status and stderr then explain the fault instead of a silent retry loop).
_MAX_DEAD_SPARES = 2
#: With fewer CPUs than this, the next spare starts when a call ends, not when it
#: begins: starting Python takes ~100 ms of CPU, which the call itself then lacks.
REFILL_ON_TAKE_MIN_CPUS = 3


class WorkerPool:
    """Keeps one spare plugin worker ready. ``take()`` hands it out; the next spare
    starts at once (``refill_on_take``) or when the caller says the call ended
    (``warm()``; ``run_plugin`` does). ``aclose()`` kills and reaps the spare.
    Belongs to one event loop."""

    def __init__(
        self,
        start: Callable[[], Awaitable[Process]] = start_worker,
        *,
        refill_on_take: bool | None = None,
    ) -> None:
        self._start = start
        if refill_on_take is None:
            refill_on_take = (os.cpu_count() or 1) >= REFILL_ON_TAKE_MIN_CPUS
        self.refill_on_take = refill_on_take
        self._spare: Process | None = None
        self._spawning: asyncio.Task[Process | Exception] | None = None
        self._dying: set[Process] = set()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def warm(self) -> None:
        """Start a spare now unless one is ready or on its way (or the pool is closed)."""
        if self._closed or self._spawning is not None:
            return
        if self._spare is not None and self._spare.returncode is None:
            return
        if self._spare is not None:
            self._discard(self._spare)  # died while idle
            self._spare = None
        self._spawning = asyncio.get_running_loop().create_task(
            self._spawn(), name="exlab-plugin-spare"
        )

    async def spare(self) -> Process | None:
        """The spare once it is started (starting one if needed), without taking it.
        None when the pool is closed or the worker cannot be started."""
        self.warm()
        if self._spawning is not None:
            await asyncio.shield(self._spawning)
        return self._spare

    async def take(self) -> Process:
        """A started worker for one call, all its own. Raises ``OSError`` (or
        ``ValueError``) when no worker can be started. A cancelled caller leaves a
        worker being started to the pool as its spare."""
        if self._closed:
            return await self._start()  # a one-off, never kept
        dead = 0
        while True:
            proc, self._spare = self._spare, None
            if proc is not None:
                if proc.returncode is None or dead >= _MAX_DEAD_SPARES:
                    if self.refill_on_take:
                        self.warm()  # the next call's worker starts now, in the background
                    return proc
                dead += 1
                self._discard(proc)
            self.warm()
            task = self._spawning
            if task is None:  # closed meanwhile
                return await self._start()
            outcome = await asyncio.shield(task)
            if isinstance(outcome, Exception):
                raise outcome

    def close_nowait(self) -> None:
        """Keep no spare from now on: kill the idle one (reaped by ``aclose``).
        Later ``take()`` calls start a one-off worker each."""
        self._closed = True
        proc, self._spare = self._spare, None
        if proc is not None:
            self._discard(proc)

    async def aclose(self) -> None:
        """Kill the spare (and one being started) and wait, bounded, until reaped."""
        self.close_nowait()
        if self._spawning is not None:
            await asyncio.wait({self._spawning})
        dying, self._dying = list(self._dying), set()
        if dying:
            await asyncio.wait(
                [asyncio.ensure_future(_reap(proc)) for proc in dying], timeout=_REAP_TIMEOUT_S
            )

    async def _spawn(self) -> Process | Exception:
        try:
            proc = await self._start()
        except (OSError, ValueError) as exc:
            return exc
        finally:
            self._spawning = None
        if self._closed:
            self._discard(proc)
            await _reap(proc)
        else:
            self._spare = proc
        return proc

    def _discard(self, proc: Process) -> None:
        """Kill a worker nobody will use; ``aclose`` waits for it."""
        if proc.returncode is None:
            kill_process_group(proc)
        if proc.stdin is not None:
            proc.stdin.close()
        self._dying.add(proc)
        if len(self._dying) > 8:  # a long-lived pool forgets the ones long gone
            self._dying = {p for p in self._dying if p.returncode is None}


async def _reap(proc: Process) -> None:
    """Wait for exit and for the pipes to drain, so no transport is left open."""
    streams = [s.read() for s in (proc.stdout, proc.stderr) if s is not None]
    with contextlib.suppress(TimeoutError, OSError):
        await asyncio.wait_for(asyncio.gather(proc.wait(), *streams), _REAP_TIMEOUT_S)
