"""The warm worker pool with real worker processes: a call runs in the spare, the
next spare starts at once, faults and cancellation leave a fresh spare, a spare
killed from outside is replaced, and closing leaves no process behind."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import PLATE_ANSWERS, finish, make_project, run_request
from plugin_helpers import (
    PROBE_PLUGIN,
    cancel_and_check_group_killed,
    make_payload,
    make_plugin,
    process_gone,
    wait_until,
    worker_children,
)

from tray_app.creation.controller import CreationController
from tray_app.creation.plugins.host import PluginResult, run_plugin
from tray_app.creation.plugins.manifest import PluginManifest
from tray_app.creation.plugins.pool import WorkerPool
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import SessionStore

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="process checks use /proc")


@pytest.fixture
def destination(tmp_path: Path) -> Path:
    folder = tmp_path / "Run_2026-01-02T03-04-05"
    folder.mkdir()
    return folder.resolve()


@pytest.fixture
def probe(tmp_path: Path) -> PluginManifest:
    return make_plugin(tmp_path / "plugins", "probe", PROBE_PLUGIN, memory_mb=300)


@pytest.fixture(params=[True, False], ids=["refill-on-take", "refill-after-call"])
async def pool(request: pytest.FixtureRequest) -> AsyncIterator[WorkerPool]:
    workers = WorkerPool(refill_on_take=request.param)
    yield workers
    await workers.aclose()


async def call(
    pool: WorkerPool | None, manifest: PluginManifest, destination: Path, mode: str = "report"
) -> PluginResult:
    payload = make_payload(destination, {"mode": mode})
    return await run_plugin(manifest, payload, destination, pool=pool)


async def next_spare(pool: WorkerPool, not_pid: int) -> int:
    """The pool's spare, which must be alive and a new process."""
    spare = await pool.spare()
    assert spare is not None and spare.returncode is None
    assert spare.pid != not_pid
    return spare.pid


async def test_a_call_runs_in_the_spare_and_the_next_spare_starts(
    pool: WorkerPool, probe: PluginManifest, destination: Path
) -> None:
    spare = await pool.spare()
    assert spare is not None
    result = await call(pool, probe, destination)
    assert result.status == "ok", result.message
    data: dict[str, Any] = result.data
    assert data["pid"] == spare.pid
    # The spec travelled with the payload: folder, limits, and only the payload for run().
    assert data["cwd"] == str(destination)
    assert data["address_space"] == 300 * 1024 * 1024
    assert data["cpu_seconds"] >= 21  # timeout_s 20 + 1, plus what the spare spent starting
    assert data["preimported"] == ["csv", "datetime", "json"]
    assert data["payload_keys"] == sorted(make_payload(destination))
    # One call per process: the spare that ran it is gone, a new one waits.
    await wait_until(lambda: process_gone(spare.pid), within=5)
    second_pid = await next_spare(pool, spare.pid)
    again = await call(pool, probe, destination)
    assert again.data["pid"] == second_pid


async def test_a_file_the_plugin_left_open_is_flushed_at_exit(
    pool: WorkerPool, probe: PluginManifest, destination: Path
) -> None:
    """The worker skips interpreter teardown; what teardown flushed must still land."""
    result = await call(pool, probe, destination, "unflushed")
    assert result.status == "ok", result.message
    assert (destination / "left_open.txt").read_text() == "written but never flushed or closed"


async def test_timeout_kills_the_worker_and_a_fresh_spare_is_ready(
    pool: WorkerPool, tmp_path: Path, destination: Path
) -> None:
    slow = make_plugin(tmp_path / "plugins", "slow", PROBE_PLUGIN, timeout_s=0.8)
    spare = await pool.spare()
    assert spare is not None
    started = time.monotonic()
    result = await call(pool, slow, destination, "sleep")
    assert result.status == "timeout"
    # The clock starts when the call is sent, not when the spare was started.
    assert 0.8 <= time.monotonic() - started < 4.0
    worker_pid, child_pid = map(int, (destination / "pids.txt").read_text().split())
    assert worker_pid == spare.pid
    await wait_until(lambda: process_gone(worker_pid) and process_gone(child_pid), within=5)
    await next_spare(pool, worker_pid)
    assert (await call(pool, slow, destination)).status == "ok"


async def test_a_crash_leaves_a_fresh_spare(
    pool: WorkerPool, probe: PluginManifest, destination: Path
) -> None:
    spare = await pool.spare()
    assert spare is not None
    result = await call(pool, probe, destination, "exit")
    assert result.status == "crashed"
    assert "exited with code 5" in result.message
    assert "probe exits hard" in result.message
    await next_spare(pool, spare.pid)
    assert (await call(pool, probe, destination)).status == "ok"


async def test_cancel_kills_the_group_and_the_next_spare_is_ready(
    pool: WorkerPool, probe: PluginManifest, destination: Path
) -> None:
    task = asyncio.create_task(call(pool, probe, destination, "sleep"))
    worker_pid = await cancel_and_check_group_killed(task, destination / "pids.txt")
    await next_spare(pool, worker_pid)
    assert (await call(pool, probe, destination)).status == "ok"


async def test_a_spare_killed_from_outside_is_replaced(
    pool: WorkerPool, probe: PluginManifest, destination: Path
) -> None:
    spare = await pool.spare()
    assert spare is not None
    os.kill(spare.pid, signal.SIGKILL)
    await wait_until(lambda: spare.returncode is not None, within=5)
    result = await call(pool, probe, destination)
    assert result.status == "ok", result.message
    assert result.data["pid"] != spare.pid


async def test_aclose_reaps_the_spare_and_later_calls_use_one_offs(
    probe: PluginManifest, destination: Path
) -> None:
    # Only this test's own workers are looked at, by pid: on a loaded machine other
    # tests' workers may still be starting or being reaped, and a before/after census
    # of every worker child counted them too (the cause of a rare failure in full runs).
    pool = WorkerPool()
    first = await call(pool, probe, destination)
    assert first.status == "ok", first.message
    used = first.data["pid"]
    spare = await pool.spare()
    assert spare is not None and spare.pid in worker_children() and spare.pid != used
    await pool.aclose()
    for pid in (used, spare.pid):
        assert process_gone(pid) and pid not in worker_children()  # gone and reaped
    # A closed pool still runs calls, one fresh worker each, and keeps none.
    one_off = await call(pool, probe, destination)
    assert one_off.status == "ok", one_off.message
    assert one_off.data["pid"] not in (used, spare.pid)
    assert await pool.spare() is None
    assert process_gone(one_off.data["pid"]) and one_off.data["pid"] not in worker_children()


async def test_aclose_while_a_spare_is_starting_leaves_nothing(probe: PluginManifest) -> None:
    before = worker_children()
    pool = WorkerPool()
    pool.warm()
    await pool.aclose()
    assert worker_children() <= before


async def test_a_worker_that_cannot_start_is_an_error_value(
    pool: WorkerPool,
    probe: PluginManifest,
    destination: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "executable", str(destination / "no-such-python"))
    for via in (pool, None):
        result = await call(via, probe, destination)
        assert result.status == "error"
        assert "could not start the plugin worker" in result.message
    monkeypatch.undo()
    assert (await call(pool, probe, destination)).status == "ok"  # it recovers


async def test_the_controller_keeps_a_spare_and_reaps_it_on_close(
    store: SessionStore, controller: CreationController
) -> None:
    before = worker_children()
    await controller.prewarm()
    await wait_until(lambda: len(worker_children() - before) == 1, within=10)
    first_spare = worker_children() - before

    await make_project(controller, store)
    handle = await controller.create_run(run_request(variables=dict(PLATE_ANSWERS)))
    session = await finish(store, handle["session_id"])
    assert session.state is SessionState.DONE, session.outcome
    assert (Path(session.destination or "") / "plate_map.csv").is_file()
    # The run used the spare; another one waits for the next run.
    await wait_until(lambda: len(worker_children() - before - first_spare) == 1, within=10)
    assert not worker_children() & first_spare

    await controller.aclose()
    assert worker_children() <= before
