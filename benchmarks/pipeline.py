"""Creation pipeline cost: a run end to end (bundled run template + plate_map plugin, answers
supplied, so no prompt) beside a bare ``copier.run_copy`` of the same template, in the same
process and run, warm; plus a plain project. Prints median and p90 in milliseconds.
The plate_map call alone is timed both in a fresh worker and in the pool's spare,
and the spare's CPU use while idle is measured.

    .venv/bin/python benchmarks/pipeline.py [--iterations 40]

The two measurements alternate so load on the machine hits both alike. Before each
timed step the benchmark waits until every spare plugin worker is idle (blocked
reading stdin), as it is when runs are seconds apart; a spare still starting up
would otherwise be timed as part of whatever runs next.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PLATE = {"sample_count": 24, "plate_type": "96-well", "prep_date": "2026-03-01"}
#: The read(2) syscall number, to see in /proc/<pid>/syscall that a worker waits on stdin.
READ_SYSCALL = {"x86_64": "0", "aarch64": "63"}.get(os.uname().machine)
CAN_SEE_SYSCALLS = READ_SYSCALL is not None and Path("/proc/self/syscall").exists()


def worker_children() -> list[int]:
    """Plugin worker processes that are children of this one (Linux /proc)."""
    pids = []
    for children in Path("/proc/self/task").glob("*/children"):
        for pid in children.read_text().split():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"plugins.worker" in cmdline or b"--plugin-worker" in cmdline:
                pids.append(int(pid))
    return pids


def waiting_on_stdin(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/syscall").read_text().split()
    except OSError:
        return True  # gone, or not ours to inspect
    return len(fields) > 1 and fields[0] == READ_SYSCALL and fields[1] == "0x0"


async def settle(limit_s: float = 3.0) -> None:
    """Wait (bounded) until every spare worker has started and waits for a call."""
    if not CAN_SEE_SYSCALLS:
        await asyncio.sleep(0.3)
        return
    deadline = time.monotonic() + limit_s
    await asyncio.sleep(0.02)  # a refill scheduled by the last call gets going
    while time.monotonic() < deadline:
        if all(waiting_on_stdin(pid) for pid in worker_children()):
            return
        await asyncio.sleep(0.01)


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu_ms(pid: int, seconds: float) -> str:
    """CPU a waiting spare uses over ``seconds`` (blocking; only called at the end)."""
    try:
        before = cpu_s(pid)
        time.sleep(seconds)
        return f"{(cpu_s(pid) - before) * 1e3:.0f} ms CPU in {seconds:g} s idle"
    except OSError:
        return "n/a (needs Linux /proc)"


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) * 1e3:7.1f} ms   p90 {p90 * 1e3:7.1f} ms"


async def main(iterations: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="exlab-bench-"))
    os.environ["EXLAB_TRAY_HOME"] = str(home)

    import copier

    from tray_app.config import default_settings
    from tray_app.creation.controller import CreationController
    from tray_app.creation.plugins.host import run_plugin
    from tray_app.creation.plugins.manifest import discover_plugins
    from tray_app.creation.plugins.pool import WorkerPool
    from tray_app.creation.render import fast_path_available, render_template
    from tray_app.creation.requests import ProjectRequest, RunRequest
    from tray_app.sessions.store import SessionStore

    settings = default_settings()
    store = SessionStore()
    controller = CreationController(store, settings)
    await controller.prewarm()  # also starts the controller's spare plugin worker
    run_template = settings.template_paths()[0] / "exlab-run"

    async def finished(session_id: str) -> None:
        while not store.get(session_id).is_terminal():  # type: ignore[union-attr]
            await store.next_transition(session_id)
        session = store.get(session_id)
        assert session is not None and session.state == "done", session and session.outcome

    async def create_run(label: str) -> dict[str, Any]:
        handle = await controller.create_run(
            RunRequest(
                equipment_id="DEMO",
                project_name="Bench",
                operator="bench",
                label=label,
                variables=dict(PLATE),
            )
        )
        await finished(handle["session_id"])
        return handle

    async def create_project(name: str) -> None:
        handle = await controller.create_project(
            ProjectRequest(equipment_id="DEMO", project_name=name, operator="bench")
        )
        await finished(handle["session_id"])

    await create_project("Bench")
    # The answers the pipeline hands Copier, so the bare render does the same work.
    warm = await create_run("warm-up")
    data = store.get(warm["session_id"])
    record_variables = dict(PLATE)
    record_variables.update(
        {
            "exlab_kind": "run",
            "session_id": "bench",
            "equipment_id": "DEMO",
            "equipment_name": "Demo instrument",
            "project_name": "Bench",
            "operator": "bench",
            "label": "bare",
            "objective": "",
            "run_kind": "experimental",
            "created_at": "2026-03-01T09:00:05+00:00",
            "created_date": "2026-03-01",
            "folder_name": "Run_bare",
        }
    )
    assert data is not None
    bare_root = home / "bare"

    def bare(index: int) -> float:
        started = time.perf_counter()
        copier.run_copy(
            str(run_template),
            bare_root / f"run{index}",
            data=record_variables,
            defaults=True,
            quiet=True,
            unsafe=False,
        )
        return time.perf_counter() - started

    def ours(index: int) -> float:
        target = home / "ours" / f"run{index}"
        target.mkdir(parents=True)
        started = time.perf_counter()
        render_template(run_template, target, record_variables)
        return time.perf_counter() - started

    manifests, _ = discover_plugins(settings.plugin_paths())
    plugin_dest = home / "plugin"
    plugin_dest.mkdir()

    pool = WorkerPool()

    async def plugin_only(warm: bool) -> float:
        payload = {
            "destination": str(plugin_dest),
            "request": {"kind": "run", "project_name": "Bench", "label": "x", "operator": "b"},
            "variables": dict(PLATE),
            "answers": {},
            "attempt": 1,
            "template": "exlab-run",
        }
        started = time.perf_counter()
        result = await run_plugin(
            manifests["plate_map"], payload, plugin_dest, pool=pool if warm else None
        )
        assert result.status == "ok", result.message
        return time.perf_counter() - started

    for index in range(3):  # warm every path once more
        bare(1000 + index)
        ours(1000 + index)
        await plugin_only(False)
        await plugin_only(True)
        await create_project(f"Warm{index}")

    bare_s: list[float] = []
    fast_s: list[float] = []
    plugin_s: list[float] = []
    spare_s: list[float] = []
    pipeline_s: list[float] = []
    project_s: list[float] = []
    for index in range(iterations):
        await settle()
        bare_s.append(await asyncio.to_thread(bare, index))
        await settle()
        started = time.perf_counter()
        await create_run(f"bench {index}")
        pipeline_s.append(time.perf_counter() - started)
        await settle()
        fast_s.append(ours(index))
        plugin_s.append(await plugin_only(False))
        await settle()
        spare_s.append(await plugin_only(True))
        await settle()
        started = time.perf_counter()
        await create_project(f"P{index:04d}")
        project_s.append(time.perf_counter() - started)
    spare = await pool.spare()
    await settle()
    idle_note = "n/a" if spare is None else idle_cpu_ms(spare.pid, 3.0)
    await pool.aclose()
    await controller.aclose()

    ratio = statistics.median(pipeline_s) / statistics.median(bare_s)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"Python {sys.version.split()[0]}, copier {copier.__version__}, {iterations} iterations, "
        f"{os.cpu_count()} CPUs, load average {load}"
    )
    print(f"fast render path available: {fast_path_available()}")
    print(f"bare copier.run_copy (exlab-run)     {summary(bare_s)}")
    print(f"pipeline: run + plate_map plugin     {summary(pipeline_s)}")
    print(f"  of which: our Copier render        {summary(fast_s)}")
    print(f"  of which: plate_map, warm spare    {summary(spare_s)}")
    print(f"plate_map in a fresh worker          {summary(plugin_s)}")
    print(f"spare worker while idle              {idle_note}")
    print(f"next spare starts when a call        {'begins' if pool.refill_on_take else 'ends'}")
    print(f"pipeline: plain project              {summary(project_s)}")
    print(f"pipeline / bare render (median)      {ratio:.2f}x   (goal <= 1.3x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=40)
    asyncio.run(main(parser.parse_args().iterations))
