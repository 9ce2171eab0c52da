"""Creation pipeline cost: a run end to end (bundled run template + plate_map plugin, answers
supplied, so no prompt) beside a bare ``copier.run_copy`` of the same template, in the same
process and run, warm; plus a plain project. Prints median and p90 in milliseconds.

    .venv/bin/python benchmarks/pipeline.py [--iterations 40]

The two measurements alternate so load on the machine hits both alike.
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
    from tray_app.creation.render import fast_path_available, render_template
    from tray_app.creation.requests import ProjectRequest, RunRequest
    from tray_app.sessions.store import SessionStore

    settings = default_settings()
    store = SessionStore()
    controller = CreationController(store, settings)
    await controller.prewarm()
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

    async def plugin_only() -> float:
        payload = {
            "destination": str(plugin_dest),
            "request": {"kind": "run", "project_name": "Bench", "label": "x", "operator": "b"},
            "variables": dict(PLATE),
            "answers": {},
            "attempt": 1,
            "template": "exlab-run",
        }
        started = time.perf_counter()
        result = await run_plugin(manifests["plate_map"], payload, plugin_dest)
        assert result.status == "ok", result.message
        return time.perf_counter() - started

    for index in range(3):  # warm every path once more
        bare(1000 + index)
        ours(1000 + index)
        await plugin_only()
        await create_project(f"Warm{index}")

    bare_s: list[float] = []
    fast_s: list[float] = []
    plugin_s: list[float] = []
    pipeline_s: list[float] = []
    project_s: list[float] = []
    for index in range(iterations):
        bare_s.append(await asyncio.to_thread(bare, index))
        started = time.perf_counter()
        await create_run(f"bench {index}")
        pipeline_s.append(time.perf_counter() - started)
        fast_s.append(ours(index))
        plugin_s.append(await plugin_only())
        started = time.perf_counter()
        await create_project(f"P{index:04d}")
        project_s.append(time.perf_counter() - started)
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
    print(f"  of which: plate_map worker         {summary(plugin_s)}")
    print(f"pipeline: plain project              {summary(project_s)}")
    print(f"pipeline / bare render (median)      {ratio:.2f}x   (goal <= 1.3x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=40)
    asyncio.run(main(parser.parse_args().iterations))
