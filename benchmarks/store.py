"""Benchmarks of the session store: cost of a session's walk, GC pass time at scale,
memory per live session, and memory flatness over a million finished sessions.

Run: ``.venv/bin/python benchmarks/store.py`` (about a minute; prints figures only).
"""

from __future__ import annotations

import functools
import gc
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from tests.support.clock import FakeClock
from tray_app.sessions import Session, SessionState, SessionStore

S = SessionState
WALK = (S.VALIDATING, S.RENDERING, S.PLUGIN_PASS, S.CACHE_WRITE, S.POST_VALIDATE, S.SYNC_QUEUED)
RESULT = {"path": "/data/ExLab/P/run-1", "sync_status": "queued", "warnings": []}
FAILURE = {"code": "plugin_failed", "message": "plate_map exited with 1"}
PROMPT = {"plugin": "plate_map", "reason": "Which plate?", "fields": [], "attempt": 1}


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def python_speed_ns() -> float:
    """A yardstick for this machine: one empty ``for`` iteration, in ns."""
    start = time.process_time()
    for _ in range(2_000_000):
        pass
    return (time.process_time() - start) / 2_000_000 * 1e9


# ---- walk ------------------------------------------------------------------------------
def walk_cost_us(n: int, *, observer: bool, subscriber: bool) -> float:
    """µs per session for open, (subscribe), six phases, DONE + close, (drain the stream).

    The stream is drained the way the API's WebSocket writer drains it: everything
    queued at once. Retention is the default, so at steady state every close also
    evicts the oldest finished session (and tells the observer).
    """
    store = SessionStore()  # real clock: datetime.now(UTC) is part of the cost
    if observer:
        seen = [0]

        def count(_session: Session, _change: object) -> None:
            seen[0] += 1

        store.add_observer(count)
    transition = store.transition
    # CPU time, not wall time: other processes on a shared box inflate the latter.
    start = time.process_time()
    for _ in range(n):
        session_id = store.open("run", None).session_id
        stream = store.subscribe(session_id) if subscriber else None
        for state in WALK:
            transition(session_id, state)
        transition(session_id, S.DONE, outcome=RESULT)
        if stream is not None:
            stream.take_all()
    return (time.process_time() - start) / n * 1e6


#: The issue's figure for the reference store's full GC scan (100k sessions, 1k
#: waiting) "on these machines"; the walk is scaled by it below.
REFERENCE_SCAN_MS = 7.0


def reference_scan_ms() -> float:
    """The reference full scan over 100k sessions, 1k waiting: median ms of 9."""
    clock = FakeClock()
    store = SessionStore(clock=clock)
    add_sessions(store, 100_000, 1_000)
    everything = {s.session_id: s for s in store.sessions()}
    scan = functools.partial(reference_scan, everything, clock.now, timedelta(hours=1))
    return time_call(scan, repeat=9)


def bench_walk() -> None:
    print("\n== open + walk to DONE: CPU µs per session (6 phase frames + done frame) ==")
    # Many short runs, reported by their best: CPU time on a shared VM swings by
    # 2x from one second to the next, and the minimum is the cost of the code.
    n, runs_per_variant = 10_000, 9
    walk_cost_us(5_000, observer=True, subscriber=True)  # warm-up
    scan_before = reference_scan_ms()
    fan_out_runs: list[float] = []
    for label, observer, subscriber in (
        ("bare store", False, False),
        ("1 observer", True, False),
        ("1 observer + 1 subscriber (drained)", True, True),
    ):
        runs = [
            walk_cost_us(n, observer=observer, subscriber=subscriber)
            for _ in range(runs_per_variant)
        ]
        print(f"  {label:<38} best {min(runs):6.1f}  median {statistics.median(runs):6.1f}")
        fan_out_runs = runs
    scan_ms = (scan_before + reference_scan_ms()) / 2
    scale = REFERENCE_SCAN_MS / scan_ms
    print(
        f"  machine speed: the reference GC scan took {scan_ms:.1f} ms around these runs "
        f"(the issue's machines: ~{REFERENCE_SCAN_MS:.0f} ms)"
    )
    print(
        f"  with fan-out, scaled to the issue's machines: best {min(fan_out_runs) * scale:.1f}"
        f"  median {statistics.median(fan_out_runs) * scale:.1f} µs"
    )


# ---- GC ----------------------------------------------------------------------------------
def add_sessions(store: SessionStore, total: int, waiting: int) -> None:
    """``total`` live sessions, ``waiting`` of them in INPUT_REQUIRED, the rest rendering."""
    for index in range(total):
        session_id = store.open("run", None).session_id
        for state in (S.VALIDATING, S.RENDERING):
            store.transition(session_id, state)
        if index % (total // waiting) == 0:
            store.transition(session_id, S.PLUGIN_PASS)
            store.await_input(session_id, PROMPT)


def time_call(call: Callable[[], object], repeat: int) -> float:
    """Median ms of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def read_counts(store: SessionStore, times: int) -> None:
    for _ in range(times):
        _ = store.live_count + store.waiting_count + store.finished_count


def reference_scan(sessions: dict[str, Session], now: datetime, age: timedelta) -> list[str]:
    """The reference store's GC query: a scan over every session (enum bound once, to be fair)."""
    threshold = now - age
    waiting = S.INPUT_REQUIRED
    return [
        sid for sid, s in sessions.items() if s.state is waiting and s.last_heartbeat < threshold
    ]


def bench_gc() -> None:
    print("\n== GC pass (ms), 1% of the sessions waiting for input ==")
    print("  none abandoned: median of 200 passes; reference: the reference store's full scan")
    print("  all abandoned: median of 3 passes, each abort = transition + close + terminal")
    print("  frame, and default retention evicts the finished beyond 500")
    print("  counts: live_count + waiting_count + finished_count, µs per read of all three")
    header = f"{'sessions':>9} {'waiting':>8} {'counts':>7} {'none abandoned':>15}"
    print(f"  {header} {'reference scan':>15} {'all abandoned':>14} {'per abort':>10}")
    for total in (1_000, 10_000, 100_000):
        waiting = total // 100
        clock = FakeClock()
        store = SessionStore(clock=clock)
        add_sessions(store, total, waiting)
        clock.now += timedelta(minutes=30)  # heartbeats 30 min old: none abandoned
        report = store.gc_once()
        assert report.abandoned == [] and report.evicted == 0 and store.waiting_count == waiting
        ours = time_call(store.gc_once, repeat=200)
        counts_us = time_call(functools.partial(read_counts, store, 1000), repeat=5)
        everything = {s.session_id: s for s in store.sessions()}
        scan = functools.partial(reference_scan, everything, clock.now, timedelta(hours=1))
        theirs = time_call(scan, repeat=20)
        del everything

        abandon_times = []
        for _ in range(3):
            clock.now += timedelta(hours=2)  # every waiting session is now abandoned
            start = time.perf_counter()
            report = store.gc_once()
            abandon_times.append(time.perf_counter() - start)
            assert len(report.abandoned) == waiting and store.waiting_count == 0
            add_sessions(store, waiting, waiting)  # fresh waiting sessions for the next pass
        abandoned_ms = statistics.median(abandon_times) * 1e3
        print(
            f"  {total:>9,} {waiting:>8,} {counts_us:>7.2f} {ours:>15.3f} {theirs:>15.3f} "
            f"{abandoned_ms:>14.3f} {abandoned_ms / waiting * 1e3:>8.1f}µs"
        )
        del store


# ---- memory ------------------------------------------------------------------------------
def bench_memory_per_session() -> None:
    print("\n== memory per live session (tracemalloc) ==")
    n = 20_000
    gc.collect()
    tracemalloc.start()
    store = SessionStore(clock=FakeClock())
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(n):
        session_id = store.open("run", None).session_id
        for state in (S.VALIDATING, S.RENDERING, S.PLUGIN_PASS):
            store.transition(session_id, state)
    plain = (tracemalloc.get_traced_memory()[0] - before) / n
    before = tracemalloc.get_traced_memory()[0]
    streams = [store.subscribe(s.session_id) for s in store.sessions()]
    subscribed = (tracemalloc.get_traced_memory()[0] - before) / n
    tracemalloc.stop()
    print(f"  live session in PLUGIN_PASS (request=None):      {plain:7.0f} bytes")
    print(f"  + one subscriber holding its snapshot frame:      {subscribed:7.0f} bytes")
    del streams, store


def bench_million() -> None:
    print("\n== 1,000,000 sessions opened and finished, default retention (500 / 1 day) ==")
    print("  (every session: open -> failed or aborted (alternating) with an outcome; every")
    print("   100th: full walk through a prompt to DONE with a subscriber; one observer;")
    print("   tracemalloc on for the whole run, which slows it down about 3x)")
    store = SessionStore()
    store.add_observer(lambda _s, _c: None)
    transition = store.transition
    full_walk = (S.VALIDATING, S.RENDERING, S.PLUGIN_PASS)
    rest = (S.PLUGIN_PASS, S.CACHE_WRITE, S.POST_VALIDATE, S.SYNC_QUEUED)
    checkpoints = {10_000, 100_000, 250_000, 500_000, 750_000, 1_000_000}
    gc.collect()
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    start = time.process_time()
    for count in range(1, 1_000_001):
        session_id = store.open("run", None).session_id
        if count % 100:
            ending = S.FAILED if count % 2 else S.ABORTED
            transition(session_id, ending, outcome=FAILURE)
        else:
            stream = store.subscribe(session_id)
            for state in full_walk:
                transition(session_id, state)
            store.await_input(session_id, PROMPT)
            store.heartbeat(session_id)
            for state in rest:
                transition(session_id, state)
            transition(session_id, S.DONE, outcome=RESULT)
            while stream.get_nowait() is not None:
                pass
        if count in checkpoints:
            traced = (tracemalloc.get_traced_memory()[0] - baseline) / 1e6
            print(
                f"  after {count:>9,}: store holds {len(store):>4} sessions "
                f"({store.live_count} live, {store.finished_count} finished), "
                f"traced {traced:5.2f} MB  [{time.process_time() - start:3.0f} s CPU]"
            )
    peak = (tracemalloc.get_traced_memory()[1] - baseline) / 1e6
    tracemalloc.stop()
    print(f"  peak traced during the run: {peak:.2f} MB")


def main() -> None:
    started, started_cpu = time.perf_counter(), time.process_time()
    print(f"machine: {machine()}")
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    print(f"yardstick: empty for-loop iteration {python_speed_ns():.1f} ns CPU")
    bench_walk()
    bench_gc()
    bench_memory_per_session()
    bench_million()
    print(
        f"\ntotal: {time.perf_counter() - started:.0f} s wall, "
        f"{time.process_time() - started_cpu:.0f} s CPU, "
        f"load average now {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
