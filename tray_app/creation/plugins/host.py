"""Run one plugin call in its own worker process and turn whatever happens into a
``PluginResult`` value: an answer, a prompt, or a fault with a stable status.

The worker gets its own process group (``start_new_session``), so a timeout or a
cancellation kills it and everything it spawned with one ``killpg``. Output is
read whole but capped; the envelope is checked here, because the host is the
trust boundary (see ``worker.py`` for the write guard and its limits). Workers
start without knowing their plugin; the call (plugin spec + payload) is one JSON
message on stdin, so a ``WorkerPool`` can start the next one ahead of time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from tray_app.creation.fields import Field, FieldSpecError, parse_fields
from tray_app.creation.plugins.manifest import PluginManifest

if TYPE_CHECKING:
    from tray_app.creation.plugins.pool import WorkerPool

PluginStatus = Literal[
    "ok", "input_required", "error", "crashed", "timeout", "bad_output", "output_too_large",
    "escaped",
]  # fmt: skip

WORKER_MODULE = "tray_app.creation.plugins.worker"
WORKER_FLAG = "--plugin-worker"
#: Hard cap on a worker's stdout (the envelope); beyond it the worker is killed.
DEFAULT_OUTPUT_CAP = 8 * 1024 * 1024
#: How much of the worker's stderr (plugin prints, tracebacks) is kept: the tail.
STDERR_KEEP_BYTES = 64 * 1024
STDERR_LINES_IN_MESSAGE = 12
#: After the worker exits, how often to look for leftovers holding its pipes open.
_STRAGGLER_CHECK_S = 0.25
#: Bound on reaping a process that was just sent SIGKILL.
_REAP_TIMEOUT_S = 5.0
_READ_CHUNK = 64 * 1024


@dataclass
class PluginResult:
    """The outcome of one plugin call. ``status`` is stable; ``message`` is for a person.

    ``fields`` (for ``input_required``) are the typed, checked fields: the one shape the
    controller keeps and the dialog draws (see ``creation/prompt.py``).
    ``log`` is the tail of the worker's stderr: plugin prints and tracebacks.
    """

    plugin: str
    status: PluginStatus
    message: str = ""
    reason: str | None = None
    fields: list[Field] | None = None
    files: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)
    log: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record (for ``creation.json``); the log stays out."""
        record: dict[str, Any] = {
            "plugin": self.plugin,
            "status": self.status,
            "message": self.message,
            "duration_s": round(self.duration_s, 3),
        }
        if self.reason is not None:
            record["reason"] = self.reason
        if self.files:
            record["files"] = list(self.files)
        return record


# The envelope schema, one Struct per status; extra keys are tolerated.
class _Ok(msgspec.Struct, tag="ok", tag_field="status"):
    message: str | None = None
    files: list[str] = msgspec.field(default_factory=list)
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class _InputRequired(msgspec.Struct, tag="input_required", tag_field="status"):
    reason: str
    fields: list[Any]


class _Error(msgspec.Struct, tag="error", tag_field="status"):
    message: str


class _Escaped(msgspec.Struct, tag="escaped", tag_field="status"):
    message: str
    attempts: list[dict[str, Any]] = msgspec.field(default_factory=list)


_Envelope = _Ok | _InputRequired | _Error | _Escaped


def worker_command(
    manifest: PluginManifest | None = None, destination: Path | None = None
) -> list[str]:
    """The argv that starts a worker: the frozen binary re-enters itself with
    ``--plugin-worker``; from source it is ``python -m <worker>``.

    Without arguments the worker learns its plugin from stdin (``plugin_call``),
    which is how the host starts every worker. With ``manifest`` and
    ``destination`` it is the older argv form (stdin is the bare payload)."""
    args = ["--host-pid", str(os.getpid())]
    if manifest is not None:
        if destination is None:
            raise ValueError("worker_command(manifest, ...) needs the destination too")
        args = [
            "--plugin-dir", str(manifest.path),
            "--entry", manifest.entry,
            "--name", manifest.name,
            "--destination", str(destination),
            "--timeout-s", repr(float(manifest.timeout_s)),
            "--memory-mb", str(int(manifest.memory_mb)),
            *args,
        ]  # fmt: skip
    if getattr(sys, "frozen", False):
        return [sys.executable, WORKER_FLAG, *args]
    return [sys.executable, "-m", WORKER_MODULE, *args]


def plugin_call(
    manifest: PluginManifest, payload: dict[str, Any], destination: Path
) -> dict[str, Any]:
    """The one message a worker reads from stdin: which plugin, where, with which
    limits, and the payload its ``run`` gets."""
    return {
        "plugin": {
            "dir": str(manifest.path),
            "entry": manifest.entry,
            "name": manifest.name,
            "destination": str(destination),
            "timeout_s": float(manifest.timeout_s),
            "memory_mb": int(manifest.memory_mb),
        },
        "payload": payload,
    }


async def start_worker() -> asyncio.subprocess.Process:
    """Start a worker that waits on stdin for its call, in its own process group.
    Raises ``OSError`` (or ``ValueError``) when it cannot be started."""
    return await asyncio.create_subprocess_exec(
        *worker_command(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=worker_env(),
        start_new_session=True,
    )


def kill_process_group(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the worker and everything in its process group (pgid == pid)."""
    if os.name == "posix":
        # The group id stays ours while any member lives, even after the leader is reaped.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    elif proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()


def worker_env() -> dict[str, str]:
    """The tray's environment, plus: no .pyc writes, unbuffered stderr, and (from
    source) the folder holding ``tray_app`` on PYTHONPATH so ``-m`` finds it."""
    env = dict(os.environ)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    if not getattr(sys, "frozen", False):
        package_root = str(Path(__file__).resolve().parents[3])
        existing = env.get("PYTHONPATH")
        env["PYTHONPATH"] = package_root + (os.pathsep + existing if existing else "")
    return env


async def run_plugin(
    manifest: PluginManifest,
    payload: dict[str, Any],
    destination: Path,
    *,
    pool: WorkerPool | None = None,
    output_cap: int = DEFAULT_OUTPUT_CAP,
) -> PluginResult:
    """Run ``manifest``'s plugin once on ``payload`` with ``destination`` as its
    working folder, in a spare worker from ``pool`` (or a fresh one without).

    Never raises for plugin faults; the timeout counts from when the call is
    sent. Cancelling the awaiting task kills the worker's process group at once,
    reaps it, and re-raises."""
    started = time.monotonic()

    def result(status: PluginStatus, message: str, **extra: Any) -> PluginResult:
        return PluginResult(
            plugin=manifest.name,
            status=status,
            message=message,
            duration_s=time.monotonic() - started,
            **extra,
        )

    try:
        stdin_bytes = msgspec.json.encode(plugin_call(manifest, payload, Path(destination)))
    except (TypeError, msgspec.EncodeError) as exc:
        return result("error", f"the plugin payload cannot be encoded as JSON: {exc}")
    try:
        proc = await (pool.take() if pool is not None else start_worker())
    except (OSError, ValueError) as exc:
        return result("error", f"could not start the plugin worker: {exc}")

    run = _WorkerRun(proc, output_cap)
    try:
        async with asyncio.timeout(manifest.timeout_s):
            await run.collect(stdin_bytes)
    except TimeoutError:
        await run.kill_and_reap()
        return result(
            "timeout",
            f"plugin {manifest.name!r} did not finish within {manifest.timeout_s:g} s",
            log=run.stderr_text(),
        )
    except BaseException:
        # Cancellation (or a bug here): the worker must not outlive its caller.
        await run.kill_and_reap()
        raise
    finally:
        await run.stop_readers()
        if pool is not None:
            pool.warm()  # the call is over: have a spare ready for the next one

    log = run.stderr_text()
    if run.overflowed:
        return result(
            "output_too_large",
            f"plugin {manifest.name!r} wrote more than {output_cap} bytes of output",
            log=log,
        )
    if run.returncode != 0:
        return result("crashed", _crash_message(manifest.name, run.returncode, log), log=log)
    return _interpret(manifest, run.stdout, log, result)


def _interpret(
    manifest: PluginManifest, stdout: bytes, log: str, result: Callable[..., PluginResult]
) -> PluginResult:
    """Turn the worker's stdout into a result; anything malformed is ``bad_output``."""
    name = manifest.name
    if not stdout.strip():
        return result("bad_output", f"plugin {name!r} finished without a result", log=log)
    try:
        # Straight from the bytes to the envelope: one shape change, not two.
        envelope = msgspec.json.decode(stdout, type=_Envelope)
    except msgspec.ValidationError as exc:  # JSON, but not an envelope
        return result("bad_output", f"plugin {name!r} returned a malformed result: {exc}", log=log)
    except msgspec.DecodeError as exc:
        return result(
            "bad_output", f"plugin {name!r} wrote output that is not JSON: {exc}", log=log
        )

    if isinstance(envelope, _Ok):
        bad = [path for path in envelope.files if not _is_inside_path(path)]
        if bad:
            return result(
                "bad_output",
                f"plugin {name!r} listed files outside the destination: {', '.join(bad[:3])}",
                log=log,
            )
        return result(
            "ok", envelope.message or "", files=envelope.files, data=envelope.data, log=log
        )
    if isinstance(envelope, _InputRequired):
        try:
            fields = parse_fields(envelope.fields)
        except FieldSpecError as exc:
            return result(
                "bad_output", f"plugin {name!r} asked for input with bad fields: {exc}", log=log
            )
        return result(
            "input_required",
            envelope.reason,
            reason=envelope.reason,
            fields=fields,
            log=log,
        )
    if isinstance(envelope, _Escaped):
        return result("escaped", envelope.message, data={"attempts": envelope.attempts}, log=log)
    return result("error", envelope.message, log=log)


def _is_inside_path(path: str) -> bool:
    """A reported file must be a relative path that stays inside the destination."""
    if not path or PureWindowsPath(path).is_absolute() or PurePosixPath(path).is_absolute():
        return False
    return ".." not in PurePosixPath(path.replace("\\", "/")).parts


def _crash_message(name: str, returncode: int | None, log: str) -> str:
    if returncode is not None and returncode < 0:
        try:
            how = f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            how = f"was killed by signal {-returncode}"
        if -returncode in (signal.SIGKILL, getattr(signal, "SIGXCPU", -1)):
            how += " (CPU or memory limit?)"
    else:
        how = f"exited with code {returncode}"
    tail = "\n".join(log.strip().splitlines()[-STDERR_LINES_IN_MESSAGE:])
    return f"plugin {name!r} worker {how}" + (f"\n{tail}" if tail else "")


class _WorkerRun:
    """The plumbing of one worker: feed stdin, read stdout (capped) and the stderr
    tail concurrently, wait for exit, and clean up the process group."""

    def __init__(self, proc: asyncio.subprocess.Process, output_cap: int) -> None:
        self.proc = proc
        self.output_cap = output_cap
        self.stdout = b""
        self.overflowed = False
        self.returncode: int | None = None
        self._stderr = bytearray()
        self._tasks: list[asyncio.Task[None]] = []

    async def collect(self, stdin_bytes: bytes) -> None:
        self._tasks = [
            asyncio.create_task(self._feed(stdin_bytes)),
            asyncio.create_task(self._read_stderr()),
        ]
        self.stdout = await self._read_stdout()
        if self.overflowed:
            self._kill_group()
        self.returncode = await self._wait_exit()
        # The worker is gone: anything it left behind in its group goes too.
        self._kill_group()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _feed(self, data: bytes) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        # The worker may die before reading everything; that shows up in its exit code.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.write(data)
            await stdin.drain()
            stdin.close()
            await stdin.wait_closed()

    async def _read_stdout(self) -> bytes:
        stream = self.proc.stdout
        assert stream is not None
        chunks: list[bytes] = []
        size = 0
        while chunk := await stream.read(_READ_CHUNK):
            if self.overflowed:
                # Drain to EOF: a pipe left unread pauses its transport, and then
                # proc.wait() (which waits for the pipes to close) never returns.
                continue
            size += len(chunk)
            if size > self.output_cap:
                self.overflowed = True
                chunks.clear()
                self._kill_group()
                continue
            chunks.append(chunk)
        return b"".join(chunks)

    async def _read_stderr(self) -> None:
        stream = self.proc.stderr
        assert stream is not None
        while chunk := await stream.read(_READ_CHUNK):
            self._stderr += chunk
            if len(self._stderr) > STDERR_KEEP_BYTES:
                del self._stderr[: len(self._stderr) - STDERR_KEEP_BYTES]

    async def _wait_exit(self) -> int | None:
        # proc.wait() also waits for the pipes to close; a grandchild holding them
        # open would stall it, so once the worker itself has exited, kill the group.
        waiter = asyncio.ensure_future(self.proc.wait())
        try:
            while True:
                done, _ = await asyncio.wait({waiter}, timeout=_STRAGGLER_CHECK_S)
                if done:
                    return waiter.result()
                if self.proc.returncode is not None:
                    self._kill_group()
        finally:
            if not waiter.done():
                waiter.cancel()

    def _kill_group(self) -> None:
        kill_process_group(self.proc)

    async def kill_and_reap(self) -> None:
        """SIGKILL the group now, then wait (bounded, shielded) for the exit status."""
        self._kill_group()
        reaper = asyncio.ensure_future(self.proc.wait())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(reaper), _REAP_TIMEOUT_S)
        self.returncode = self.proc.returncode

    async def stop_readers(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def stderr_text(self) -> str:
        return bytes(self._stderr).decode("utf-8", errors="replace")
