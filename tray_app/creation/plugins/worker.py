"""The plugin worker: the child process that runs ONE plugin call and answers with
ONE JSON envelope on stdout.

Entry points: ``python -m tray_app.creation.plugins.worker`` and, in the frozen
build, ``exlab-tray --plugin-worker``. Standard library only, so it starts fast.

Two forms. The host starts workers *without* a plugin (``--host-pid`` only) and
keeps one idle as a spare: it pre-imports common modules, then blocks reading
stdin, where ONE message arrives: ``{"plugin": {dir, entry, name, destination,
timeout_s, memory_mb}, "payload": {...}}``. The older form names the plugin in
argv (``--plugin-dir ... --destination ...``) and reads the bare payload; it is
kept for trying a plugin by hand.

What it does, in order: keep the real stdout for the envelope and point fd 1
and ``sys.stdout`` at stderr (plugin prints, and children it spawns, cannot
corrupt the envelope); read the whole message from stdin; enter the
destination folder; apply POSIX limits (address space, CPU seconds, no core
files; lowering limits needs no privilege); arm the write guard; import and
call the plugin's ``run(payload)``; write the envelope; exit. One call per
process, always: nothing a plugin leaves behind reaches another plugin. The exit
skips interpreter teardown (it cost more than the call itself), after doing what
teardown would still do for a plugin: atexit handlers, flushing files left open.

The write guard is a ``sys.addaudithook`` hook. It refuses (``PermissionError``)
and records Python-level writes outside the destination folder and the system
temp folder: opening a file for writing, mkdir, rename/replace, remove, rmdir,
rmtree, link, symlink, chmod/chown/utime, truncate. It is a tripwire against
mistakes, NOT a security sandbox: native code (ctypes, C extensions), child
processes and ``open(..., dir_fd=...)`` (not visible in the audit event) get
past it. Run only plugins you trust.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import importlib.util
import io
import json
import math
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

from tray_app.creation.child_process import die_with_parent, take_stdout

#: Envelope statuses a plugin may return itself.
PLUGIN_STATUSES = frozenset({"ok", "input_required", "error"})
#: How many refused writes are listed in an "escaped" envelope.
MAX_RECORDED_ESCAPES = 20
#: Imported by an idle spare before it blocks on stdin: what plugins commonly use.
PREIMPORTS = ("csv", "datetime", "io", "json", "pathlib", "re", "string", "resource")

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

# Audit event -> ((path index, dir_fd index or None, follow the last symlink?), ...).
# Removing or renaming acts on a link itself, so only its parent folder is resolved.
_PATH_EVENTS: dict[str, tuple[tuple[int, int | None, bool], ...]] = {
    "os.mkdir": ((0, 2, False),),
    "os.rename": ((0, 2, False), (1, 3, False)),
    "os.remove": ((0, 1, False),),
    "os.rmdir": ((0, 1, False),),
    "shutil.rmtree": ((0, 1, False),),
    "os.link": ((0, 2, True), (1, 3, False)),
    "os.symlink": ((1, 2, False),),
    "os.truncate": ((0, None, True),),
    "os.chmod": ((0, 2, True),),
    "os.chown": ((0, 3, True),),
    "os.utime": ((0, 3, True),),
    "os.mkfifo": ((0, 2, False),),
    "os.mknod": ((0, 3, False),),
}

#: The descriptor the envelope goes to, while a call runs. Nothing else writes to it;
#: the tests use it to play a plugin that goes around the worker.
ENVELOPE_FD: int | None = None


class WriteGuard:
    """Audit-hook tripwire: refuses and records writes outside ``roots``."""

    def __init__(self, roots: list[str], allowed_files: tuple[str, ...] = (os.devnull,)) -> None:
        self.roots = [os.path.realpath(root) for root in roots]
        self.allowed_files = frozenset(os.path.realpath(path) for path in allowed_files)
        self.attempts: list[dict[str, str]] = []
        self.attempt_count = 0

    def install(self) -> None:
        # Audit hooks cannot be removed: once installed, the guard holds until exit.
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            targets = self._open_targets(args)
        elif event in _PATH_EVENTS:
            targets = [
                _resolve(args[index], _arg(args, fd_index), follow)
                for index, fd_index, follow in _PATH_EVENTS[event]
            ]
        else:
            return
        for target in targets:
            if target is not None and not self._allowed(target):
                self._refuse(event, target)

    def _open_targets(self, args: tuple[Any, ...]) -> list[str | None]:
        path, mode, flags = args[0], args[1], args[2]
        writing = isinstance(flags, int) and bool(flags & _WRITE_FLAGS)
        if isinstance(mode, str) and any(ch in mode for ch in "wax+"):
            writing = True
        if not writing or isinstance(path, int) or path is None:
            return []  # reads, and wrapping an already open descriptor, are fine
        return [_resolve(path, None, True)]

    def _allowed(self, target: str) -> bool:
        if target in self.allowed_files:
            return True
        return any(target == root or target.startswith(root + os.sep) for root in self.roots)

    def _refuse(self, event: str, target: str) -> None:
        self.attempt_count += 1
        if len(self.attempts) < MAX_RECORDED_ESCAPES:
            self.attempts.append({"event": event, "path": target})
        raise PermissionError(
            13, "ExLab plugin guard: writing outside the destination folder is not allowed", target
        )


def _arg(args: tuple[Any, ...], index: int | None) -> Any:
    return args[index] if index is not None and index < len(args) else None


def _fd_path(fd: int) -> str | None:
    """The path of an open descriptor, where the OS tells (Linux /proc)."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


def _resolve(path: Any, dir_fd: Any, follow: bool) -> str | None:
    """Absolute real path the operation touches, or None when it cannot be known."""
    try:
        if isinstance(path, int):
            return _fd_path(path)
        text = os.fsdecode(os.fspath(path))
        if not os.path.isabs(text):
            if isinstance(dir_fd, int) and dir_fd >= 0:
                base = _fd_path(dir_fd)
                if base is None:
                    return None
            else:
                base = os.getcwd()
            text = os.path.join(base, text)
        if follow:
            return os.path.realpath(text)
        head, tail = os.path.split(os.path.normpath(text))
        return os.path.join(os.path.realpath(head), tail)
    except (TypeError, ValueError, OSError):
        return None


@dataclass(frozen=True)
class PluginSpec:
    """Which plugin to run, where, and under which limits."""

    plugin_dir: Path
    destination: Path
    entry: str = "plugin.py"
    name: str = "plugin"
    timeout_s: float = 30.0
    memory_mb: int = 512


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="exlab-tray --plugin-worker", exit_on_error=False)
    parser.add_argument("--plugin-dir", type=Path)
    parser.add_argument("--entry", default="plugin.py")
    parser.add_argument("--name", default="plugin")
    parser.add_argument("--destination", type=Path)
    parser.add_argument("--timeout-s", type=float, default=30.0)
    parser.add_argument("--memory-mb", type=int, default=512)
    parser.add_argument("--host-pid", type=int, default=0)
    args = parser.parse_args(argv)
    if (args.plugin_dir is None) != (args.destination is None):
        raise argparse.ArgumentError(None, "--plugin-dir and --destination go together")
    return args


def _spec_from_args(args: argparse.Namespace) -> PluginSpec | None:
    if args.plugin_dir is None:
        return None  # a spare: the spec comes with the payload
    return PluginSpec(
        plugin_dir=Path(os.path.abspath(args.plugin_dir)),  # the worker changes folder later
        destination=Path(os.path.abspath(args.destination)),
        entry=args.entry,
        name=args.name,
        timeout_s=args.timeout_s,
        memory_mb=args.memory_mb,
    )


def _spec_from_message(raw: Any) -> tuple[PluginSpec | None, str | None]:
    """The ``plugin`` part of a spare's message, checked: ``(spec, None)`` or
    ``(None, problem)``."""
    if not isinstance(raw, dict):
        return None, "worker received no plugin spec"
    texts = {key: raw.get(key) for key in ("dir", "destination", "entry", "name")}
    bad = [key for key, value in texts.items() if not isinstance(value, str) or not value]
    timeout_s, memory_mb = raw.get("timeout_s"), raw.get("memory_mb")
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or timeout_s <= 0:
        bad.append("timeout_s")
    if isinstance(memory_mb, bool) or not isinstance(memory_mb, int) or memory_mb <= 0:
        bad.append("memory_mb")
    if bad or not isinstance(timeout_s, int | float) or not isinstance(memory_mb, int):
        return None, f"worker received a bad plugin spec ({', '.join(bad)})"
    spec = PluginSpec(
        plugin_dir=Path(os.path.abspath(str(texts["dir"]))),
        destination=Path(os.path.abspath(str(texts["destination"]))),
        entry=str(texts["entry"]),
        name=str(texts["name"]),
        timeout_s=float(timeout_s),
        memory_mb=memory_mb,
    )
    return spec, None


def apply_limits(memory_mb: int, timeout_s: float) -> None:
    """POSIX resource limits on this process (a no-op where ``resource`` is missing)."""
    try:
        import resource
    except ImportError:  # Windows
        return
    # A spare has already spent CPU starting up; the plugin still gets its whole budget.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = math.ceil(timeout_s + usage.ru_utime + usage.ru_stime) + 1
    wanted = (
        (resource.RLIMIT_AS, memory_mb * 1024 * 1024, memory_mb * 1024 * 1024),
        # SIGXCPU at the soft limit, SIGKILL at the hard one: a backstop to the host's clock.
        (resource.RLIMIT_CPU, cpu_s, cpu_s + 1),
        (resource.RLIMIT_CORE, 0, 0),
    )
    for which, soft, hard in wanted:
        with contextlib.suppress(ValueError, OSError):
            _, ceiling = resource.getrlimit(which)
            if ceiling != resource.RLIM_INFINITY:  # cannot raise a hard limit: stay below it
                resource.setrlimit(which, (min(soft, ceiling), min(hard, ceiling)))
            else:
                resource.setrlimit(which, (soft, hard))


def _scrub_sys_path(*folders: Path | str) -> None:
    """``-m`` puts the working folder first on sys.path; a stray ``json.py`` there
    (or rendered by a template into the destination) must not shadow the standard
    library. The current folder and ``folders`` are taken off."""
    here = {os.path.realpath(os.getcwd()), *(os.path.realpath(f) for f in folders)}
    sys.path[:] = [p for p in sys.path if p and os.path.realpath(p) not in here]


def _preimport() -> None:
    """Load what plugins commonly import while the spare waits, not during a call."""
    for name in PREIMPORTS:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _enter(destination: Path) -> str | None:
    """chdir into the destination; a problem message when that is impossible."""
    try:
        os.chdir(destination)
    except OSError as exc:
        return (
            f"could not start the plugin: the destination folder {str(destination)!r} "
            f"cannot be entered: {exc.strerror or exc}"
        )
    return None


def _load_plugin(plugin_dir: Path, entry: str, name: str) -> ModuleType:
    entry_path = plugin_dir / entry
    if not entry_path.is_file():
        raise FileNotFoundError(f"plugin entry {entry_path} does not exist")
    sys.path.insert(0, str(plugin_dir))  # plugins may keep helper modules beside plugin.py
    module_name = "exlab_plugin_" + "".join(c if c.isalnum() else "_" for c in name)
    spec = importlib.util.spec_from_file_location(module_name, entry_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load plugin from {entry_path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def _read_payload() -> tuple[dict[str, Any] | None, str | None]:
    """All of stdin as a JSON object: ``(payload, None)`` or ``(None, problem)``."""
    try:
        payload = json.loads(sys.stdin.buffer.read() or b"null")
    except ValueError as exc:
        return None, f"worker received a payload that is not JSON: {exc}"
    if not isinstance(payload, dict):
        return None, "worker received a payload that is not a JSON object"
    return payload, None


def _read_call(
    spec: PluginSpec | None,
) -> tuple[PluginSpec | None, dict[str, Any] | None, str | None]:
    """Block on stdin for the call: ``(spec, payload, None)`` or ``(.., .., problem)``.

    With ``spec`` known (argv form) stdin is the bare payload; otherwise it is
    ``{"plugin": spec, "payload": payload}``."""
    message, problem = _read_payload()
    if message is None or spec is not None:
        return spec, message, problem
    spec, problem = _spec_from_message(message.get("plugin"))
    payload = message.get("payload")
    if problem is None and not isinstance(payload, dict):
        problem = "worker received a payload that is not a JSON object"
    return spec, payload if isinstance(payload, dict) else None, problem


def _error(message: str) -> dict[str, Any]:
    return {"status": "error", "message": message}


def _call_plugin(spec: PluginSpec, payload: Any) -> dict[str, Any]:
    try:
        module = _load_plugin(spec.plugin_dir, spec.entry, spec.name)
        run: Callable[[Any], Any] | None = getattr(module, "run", None)
        if not callable(run):
            return _error(f"plugin {spec.entry} defines no run(payload) function")
        result = run(payload)
    except BaseException as exc:  # the plugin's failure is a value, whatever it is
        traceback.print_exc(file=sys.stderr)
        if isinstance(exc, SystemExit):
            return _error(f"SystemExit: plugin called sys.exit({exc.code!r})")
        return _error(f"{type(exc).__name__}: {exc}")
    if not isinstance(result, dict):
        return _error(f"plugin run() returned {type(result).__name__}, expected a dict")
    return result


def _escaped(guard: WriteGuard, plugin_envelope: dict[str, Any]) -> dict[str, Any]:
    paths = ", ".join(attempt["path"] for attempt in guard.attempts[:3])
    more = "" if guard.attempt_count <= 3 else f" and {guard.attempt_count - 3} more"
    return {
        "status": "escaped",
        "message": f"plugin tried to write outside the destination folder: {paths}{more}",
        "attempts": guard.attempts,
        "attempt_count": guard.attempt_count,
        "plugin_status": plugin_envelope.get("status"),
    }


def _encode(envelope: dict[str, Any]) -> bytes:
    try:
        text = json.dumps(envelope, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        text = json.dumps(_error(f"plugin result cannot be sent as JSON: {exc}"))
    return text.encode("utf-8")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def main(argv: list[str] | None = None) -> int:
    """Run one plugin call; the envelope goes to stdout. After a call the process
    exits (status 0) from here; only bad arguments return (2)."""
    global ENVELOPE_FD  # noqa: PLW0603 - one worker per process
    try:
        args = _parse_args(list(sys.argv[1:] if argv is None else argv))
    except (argparse.ArgumentError, SystemExit) as exc:
        print(f"exlab plugin worker: bad arguments: {exc}", file=sys.stderr)
        return 2
    envelope_fd = ENVELOPE_FD = take_stdout()
    sys.dont_write_bytecode = True  # a .pyc write next to the plugin would be an escape
    _scrub_sys_path()
    die_with_parent(args.host_pid)
    spec = _spec_from_args(args)
    if spec is None:
        _preimport()  # a spare: get ready, then wait (blocked, no CPU) for the call
    temp_root = tempfile.gettempdir()  # probes the folder by writing: do it before arming

    spec, payload, problem = _read_call(spec)
    if problem is None and spec is not None:
        problem = _enter(spec.destination)
    if problem is not None or spec is None or payload is None:
        envelope = _error(problem or "worker received no payload")
    else:
        _scrub_sys_path(spec.destination)
        apply_limits(spec.memory_mb, spec.timeout_s)
        # Stays armed to the end: plugin atexit handlers and finalizers are guarded too.
        guard = WriteGuard([str(spec.destination), temp_root])
        guard.install()
        envelope = _call_plugin(spec, payload)
        if guard.attempt_count:
            envelope = _escaped(guard, envelope)

    _write_all(envelope_fd, _encode(envelope))
    os.close(envelope_fd)
    ENVELOPE_FD = None
    _exit_now()


def _exit_now() -> NoReturn:
    """End the process without interpreter teardown: the call is answered, and the
    host waits for the exit. Threads a plugin left running are abandoned."""
    with contextlib.suppress(BaseException):
        atexit._run_exitfuncs()  # plugin handlers and weakref finalizers, still guarded
    with contextlib.suppress(BaseException):
        # Files a plugin left open: teardown would have flushed them when they were freed.
        for obj in gc.get_objects():
            if isinstance(obj, io.TextIOWrapper | io.BufferedWriter | io.BufferedRandom):
                with contextlib.suppress(Exception):
                    if not obj.closed:
                        obj.flush()
    with contextlib.suppress(BaseException):
        sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    # Run the importable module, not this ``__main__`` copy, so there is one set of globals.
    from tray_app.creation.plugins.worker import main as _worker_main

    sys.exit(_worker_main())
