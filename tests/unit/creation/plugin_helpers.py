"""Shared helpers for the plugin tests: fixture manifests, payloads, process checks."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tray_app.creation.plugins.manifest import PluginManifest, load_manifest

FIXTURES = Path(__file__).resolve().parent / "plugins_fixtures"
BUNDLED_PLUGINS = Path(__file__).resolve().parents[3] / "resources" / "plugins"


def fixture_manifest(name: str = "faulty", **overrides: Any) -> PluginManifest:
    return msgspec.structs.replace(load_manifest(FIXTURES / name), **overrides)


def make_payload(
    destination: Path,
    variables: dict[str, Any] | None = None,
    answers: dict[str, Any] | None = None,
    attempt: int = 1,
) -> dict[str, Any]:
    """A payload shaped exactly as the pipeline sends it (common.md contract)."""
    return {
        "destination": str(destination),
        "request": {
            "kind": "run",
            "equipment_id": "TECAN",
            "project_name": "Glycan_Screen",
            "operator": "ada",
            "label": "plate 7",
        },
        "variables": variables or {},
        "answers": answers or {},
        "attempt": attempt,
        "template": "exlab-run",
    }


def process_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs: absent, or a zombie awaiting its reaper."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def matching(folder: Path, pattern: str) -> list[Path]:
    """Files under ``folder`` matching ``pattern`` (recursive)."""
    return sorted(folder.rglob(pattern))


async def wait_until(predicate: Any, within: float = 10.0) -> None:
    """Await a condition, bounded: fail loudly instead of hanging."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.01)


async def cancel_and_check_group_killed(task: asyncio.Task[Any], pids_file: Path) -> int:
    """Cancel ``task`` once its plugin wrote ``pids_file`` (worker and child pid); check the
    cancellation comes back fast with the worker reaped and its child gone. Returns the
    worker's pid."""
    await wait_until(pids_file.exists)
    worker_pid, child_pid = map(int, pids_file.read_text().split())  # noqa: ASYNC240 - tiny file
    assert not process_gone(child_pid)

    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 2.0
    assert process_gone(worker_pid)  # reaped by the host
    await wait_until(lambda: process_gone(child_pid), within=2)
    return worker_pid


#: A plugin that reports what its worker looks like from inside, or misbehaves
#: when ``variables["mode"]`` says so (``sleep`` with a child, ``exit``,
#: ``unflushed``: a file left open with its data still buffered).
PROBE_PLUGIN = """
import os
import resource
import subprocess
import sys
import time
from pathlib import Path


def run(payload):
    mode = payload["variables"].get("mode", "report")
    destination = Path(payload["destination"])
    if mode == "sleep":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        (destination / "pids.tmp").write_text(f"{os.getpid()} {child.pid}")
        os.replace(destination / "pids.tmp", destination / "pids.txt")
        time.sleep(60)
    if mode == "exit":
        print("probe exits hard", file=sys.stderr, flush=True)
        os._exit(5)
    if mode == "unflushed":
        global LEFT_OPEN
        LEFT_OPEN = open(destination / "left_open.txt", "w")  # noqa: SIM115 - on purpose
        LEFT_OPEN.write("written but never flushed or closed")
        return {"status": "ok"}
    return {
        "status": "ok",
        "data": {
            "pid": os.getpid(),
            "cwd": os.getcwd(),
            "address_space": resource.getrlimit(resource.RLIMIT_AS)[0],
            "cpu_seconds": resource.getrlimit(resource.RLIMIT_CPU)[0],
            "preimported": [m for m in ("csv", "datetime", "json") if m in sys.modules],
            "payload_keys": sorted(payload),
        },
    }
"""


def make_plugin(root: Path, name: str, code: str, **manifest: Any) -> PluginManifest:
    """Write plugin folder ``root/name`` (``code`` as plugin.py) and load its manifest."""
    folder = root / name
    folder.mkdir(parents=True)
    settings = {"name": name, "version": "0.1", "timeout_s": 20, "memory_mb": 256, **manifest}
    toml = "".join(f"{key} = {value!r}\n".replace("'", '"') for key, value in settings.items())
    (folder / "plugin.toml").write_text(toml)
    (folder / "plugin.py").write_text(code)
    return load_manifest(folder)


def child_pids() -> set[int]:
    """Live children of this process: every /proc/<pid>/stat whose parent is us.

    Not /proc/self/task/*/children: the kernel documents that list as reliable only
    while the children are stopped, and it did miss a just-started worker now and
    then on a loaded machine (the pool test that failed once in full runs).
    """
    me = os.getpid()
    pids: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == me and fields[0] not in ("Z", "X"):
            pids.add(int(stat.parent.name))
    return pids


def worker_children() -> set[int]:
    """Children of this process that are plugin workers."""
    found = set()
    for pid in child_pids():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"tray_app.creation.plugins.worker" in cmdline or b"--plugin-worker" in cmdline:
            found.add(pid)
    return found
