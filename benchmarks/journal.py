"""Session journal figures, journal on and off in the same run:

1. open -> DONE CPU per session (this process's CPU, every thread: the journal's writer
   included; the render worker and plugin workers are other processes), for the store
   walk alone (each step its own loop turn, as the pipeline takes them) and for real
   projects through the controller (Copier render in the render worker);
2. POST /sessions -> 201 over loopback: p50 and p99;
3. restart to API ready with 10,000 finished + 100 waiting sessions in the journal,
   against an empty start (in process: ExlabService() -> start() returned);
4. the journal file's size after 1,000,000 sessions under default retention.

Run: ``.venv/bin/python benchmarks/journal.py [--quick]``. Prints figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.clock import FakeClock  # noqa: E402
from tray_app.sessions import Retention, SessionState, SessionStore, utc_now  # noqa: E402
from tray_app.sessions.journal import Journal  # noqa: E402

S = SessionState
WALK = (S.VALIDATING, S.RENDERING, S.PLUGIN_PASS, S.CACHE_WRITE, S.POST_VALIDATE, S.SYNC_QUEUED)
REQUEST = {"kind": "project", "equipment_id": "DEMO", "project_name": "P", "operator": "ana"}
RESULT = {"path": "/data/DEMO/P", "sync_status": "not_configured", "warnings": []}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def file_size(path: Path) -> int:
    return sum(
        Path(f"{path}{suffix}").stat().st_size
        for suffix in ("", "-wal", "-shm")
        if Path(f"{path}{suffix}").exists()
    )


# ---- 1a. the store walk ------------------------------------------------------------------
async def walk_cpu_us(sessions: int, concurrent: int, journal_on: bool, home: Path) -> float:
    """CPU µs per session: ``concurrent`` sessions at a time, one step per loop turn."""
    clock = FakeClock()
    store = SessionStore(clock=clock)
    journal = None
    if journal_on:
        journal = Journal(home / f"walk-{time.monotonic_ns()}.sqlite3", clock=clock)
        store.restore((await journal.open(store.retention)).sessions)
        journal.attach(store)

    async def one() -> None:
        session = store.open("project", REQUEST, destination="/data/DEMO/P", title="P")
        await asyncio.sleep(0)
        for state in WALK:
            store.transition(session.session_id, state)
            await asyncio.sleep(0)
        store.transition(session.session_id, S.DONE, outcome=RESULT)

    gc.collect()
    started = time.process_time()
    for _ in range(sessions // concurrent):
        await asyncio.gather(*(one() for _ in range(concurrent)))
    if journal is not None:
        await journal.durable()  # the writer's work counts too
    spent = time.process_time() - started
    if journal is not None:
        await journal.close()
    return spent / sessions * 1e6


async def bench_walk(quick: bool, home: Path) -> None:
    sessions = 2_000 if quick else 10_000
    print("== 1a. open -> DONE, store walk, one step per loop turn: CPU µs per session ==")
    for concurrent in (1, 20):
        runs: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(3 if quick else 5):
            for on in (False, True):
                runs[on].append(await walk_cpu_us(sessions, concurrent, on, home))
        off, on = statistics.median(runs[False]), statistics.median(runs[True])
        print(
            f"  {concurrent:>2} session(s) at a time: journal off {off:6.1f}  on {on:6.1f}"
            f"  ratio {on / off:4.2f}x  (medians of {len(runs[True])} runs of {sessions:,})"
        )


# ---- 1b + 2. real projects through the service ---------------------------------------------
async def bench_service(quick: bool) -> None:
    count = 40 if quick else 200
    print(f"== 1b + 2. real projects through ExlabService ({count} per variant, sequential) ==")
    for on in (False, True):
        cpu_ms, latencies = await service_run(on, count)
        label = "on " if on else "off"
        print(
            f"  journal {label}: open -> DONE {cpu_ms:5.2f} ms CPU per project (tray process); "
            f"POST -> 201 p50 {percentile(latencies, 0.5) * 1000:5.1f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:5.1f} ms"
        )


async def service_run(journal_on: bool, count: int) -> tuple[float, list[float]]:
    """CPU ms per project (open -> DONE) and each POST's seconds to its 201."""
    import aiohttp

    from tray_app.api.service import ExlabService
    from tray_app.config import load_settings

    home = Path(tempfile.mkdtemp(prefix="exlab-bench-journal-"))
    os.environ["EXLAB_TRAY_HOME"] = str(home)
    service = ExlabService(load_settings(), publish_runtime=False, journal=journal_on)
    await service.start()
    await service.controller.prewarm()
    store = service.store
    headers = {"Authorization": f"Bearer {service.api.token}"}
    url = f"{service.url}/api/v1/sessions"
    latencies: list[float] = []
    async with aiohttp.ClientSession(headers=headers) as http:

        async def create(name: str) -> float:
            body = {**REQUEST, "project_name": name}
            started = time.perf_counter()
            async with http.post(url, json=body) as response:
                handle = await response.json()
                assert response.status == 201, handle
            elapsed = time.perf_counter() - started
            session_id = handle["session_id"]
            while not store.get(session_id).is_terminal():  # type: ignore[union-attr]
                await store.next_transition(session_id)
            assert store.get(session_id).state is S.DONE  # type: ignore[union-attr]
            return elapsed

        for index in range(5):  # warm every path
            await create(f"Warm{index}")
        cpu_started = time.process_time()
        for index in range(count):
            latencies.append(await create(f"Bench{index}"))
        if service.journal is not None:
            await service.journal.durable()
        cpu_ms = (time.process_time() - cpu_started) / count * 1000
    await service.stop()
    return cpu_ms, latencies


# ---- 3. restart to API ready --------------------------------------------------------------
async def fill_journal(path: Path, finished: int, waiting: int, template_dir: Path) -> None:
    """A journal as a long day leaves it: ``finished`` ended sessions, ``waiting`` waiting,
    all within the last hour (so the default retention keeps the newest 500)."""
    clock = FakeClock(utc_now() - timedelta(hours=1))
    retention = Retention(max_finished=finished + 1, max_age=timedelta(days=3650))
    store = SessionStore(clock=clock, retention=retention)
    journal = Journal(path, clock=clock)
    await journal.open(retention)
    journal.attach(store)
    for index in range(finished):
        session = store.open("project", REQUEST, destination=f"/data/DEMO/P{index}", title="P")
        store.transition(session.session_id, S.ABORTED, outcome={"code": "cancelled"})
        clock.advance(seconds=0.3)
        if index % 1000 == 999:
            await journal.durable()
    folder = template_dir / "waiting-runs"
    for index in range(waiting):
        run = {**REQUEST, "kind": "run", "label": f"w{index}"}
        destination = folder / f"Run_{index}"
        destination.mkdir(parents=True, exist_ok=True)
        session = store.open("run", run, destination=str(destination), title="W")
        for state in WALK[:3]:
            store.transition(session.session_id, state)
        store.checkpoint(
            session.session_id,
            {
                "template": "exlab-run",
                "variables": {},
                "plugins": [{"name": "plate_map", "version": "1.0.0", "status": "running"}],
                "answers": {},
            },
        )
        store.await_input(
            session.session_id,
            {
                "plugin": "plate_map",
                "reason": "r",
                "fields": [{"id": "n", "label": "N", "type": "integer", "required": True}],
                "attempt": 1,
                "answers": {},
            },
        )
    await journal.close()


async def start_ms(home: Path) -> tuple[float, int, int]:
    from tray_app.api.service import ExlabService
    from tray_app.config import load_settings

    os.environ["EXLAB_TRAY_HOME"] = str(home)
    loaded = load_settings()
    started = time.perf_counter()
    service = ExlabService(loaded, publish_runtime=False, prewarm=False)
    await service.start()
    elapsed = (time.perf_counter() - started) * 1000
    counts = service.store.finished_count, service.store.waiting_count
    await service.stop()
    return elapsed, *counts


def put_back(path: Path, data: bytes) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(data)


async def bench_restart(quick: bool) -> None:
    from tray_app.api.service import JOURNAL_NAME

    print("== 3. restart to API ready (ExlabService() -> start() returned), in process ==")
    full = Path(tempfile.mkdtemp(prefix="exlab-bench-full-"))
    os.environ["EXLAB_TRAY_HOME"] = str(full)
    state = full / "state"
    state.mkdir(parents=True)
    started = time.perf_counter()
    await fill_journal(state / JOURNAL_NAME, 10_000, 100, full / "data")
    print(
        f"  journal filled with 10,000 finished + 100 waiting in "
        f"{time.perf_counter() - started:.1f} s: {file_size(state / JOURNAL_NAME) / 1e6:.2f} MB"
    )
    # Each start restores, then the writer prunes rows past retention: keep a copy to
    # start from the same full journal every time.
    pristine = (state / JOURNAL_NAME).read_bytes()
    runs = 3 if quick else 7
    empty_ms, full_ms, counts = [], [], (0, 0)
    for _ in range(runs):
        empty = Path(tempfile.mkdtemp(prefix="exlab-bench-empty-"))
        empty_ms.append((await start_ms(empty))[0])
        put_back(state / JOURNAL_NAME, pristine)
        elapsed, *found = await start_ms(full)
        full_ms.append(elapsed)
        counts = (found[0], found[1])
    e, f = statistics.median(empty_ms), statistics.median(full_ms)
    print(
        f"  empty start (no journal file yet) median {e:6.1f} ms; with the full journal "
        f"median {f:6.1f} ms (restored {counts[0]} finished within retention, "
        f"{counts[1]} waiting); difference {f - e:+.1f} ms  (medians of {runs})"
    )


# ---- 4. size after a million sessions ---------------------------------------------------------
async def bench_size(quick: bool, home: Path) -> None:
    total = 100_000 if quick else 1_000_000
    print(f"== 4. journal size over {total:,} sessions, default retention (500 / 1 day) ==")
    clock = FakeClock()
    store = SessionStore(clock=clock, retention=Retention())
    path = home / "million.sqlite3"
    journal = Journal(path, clock=clock)
    await journal.open(store.retention)
    journal.attach(store)
    per_turn = 200
    marks = {10_000, 100_000, 1_000_000, total}
    started = time.perf_counter()
    for done in range(per_turn, total + 1, per_turn):
        for _ in range(per_turn):
            session = store.open("project", REQUEST, destination="/data/DEMO/P", title="P")
            for state in WALK:
                store.transition(session.session_id, state)
            store.transition(session.session_id, S.DONE, outcome=RESULT)
        clock.advance(seconds=1)
        await asyncio.sleep(0)
        if done % 20_000 == 0:
            await journal.durable()  # let the writer keep up (it would anyway, later)
        if done in marks:
            await journal.durable()
            print(
                f"  after {done:>9,}: {file_size(path) / 1e6:5.2f} MB on disk "
                f"(file + WAL), store holds {len(store)}"
            )
    await journal.close()
    print(
        f"  after close: {file_size(path) / 1e6:5.2f} MB; "
        f"{time.perf_counter() - started:.0f} s wall for the run"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["walk", "service", "restart", "size"])
    options = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="exlab-bench-journal-"))
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPUs, load {load:.1f}, Python {sys.version.split()[0]}")
    steps = {
        "walk": lambda: bench_walk(options.quick, home),
        "service": lambda: bench_service(options.quick),
        "restart": lambda: bench_restart(options.quick),
        "size": lambda: bench_size(options.quick, home),
    }
    for name, step in steps.items():
        if options.only in (None, name):
            await step()


if __name__ == "__main__":
    asyncio.run(main())
