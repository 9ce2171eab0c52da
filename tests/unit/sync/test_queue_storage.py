"""The queue's SQLite file: a damaged one is set aside and reported; the old JSON queue
(even truncated) is imported once; the schema version is recorded."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import msgspec
from sync_helpers import (
    QueueFactory,
    make_folder,
    plan,
    sample_files,
    sha256sum_ok,
    wait_for,
)

from tests.support.clock import FakeClock
from tray_app.creation.sync import JobStatus, SyncQueue
from tray_app.creation.sync.db import SCHEMA_VERSION


async def test_a_damaged_queue_file_is_moved_aside_and_reported(
    tmp_path: Path, make_queue: QueueFactory
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    garbage = b"SQLite format 3\x00" + b"\xde\xad" * 2000
    (state / "sync.sqlite3").write_bytes(garbage)
    queue = await make_queue()
    [aside] = list(state.glob("sync.sqlite3.damaged-*"))
    assert aside.read_bytes() == garbage  # kept, never emptied
    [problem] = queue.problems
    assert "could not be read" in problem and aside.name in problem
    # The fresh queue works.
    nas = tmp_path / "nas"
    nas.mkdir()
    folder = make_folder(tmp_path / "L", "EQ/Run_1", sample_files())
    job = await queue.enqueue(folder, plan(nas), "EQ/Run_1")
    await wait_for(queue, lambda: job.status is JobStatus.SYNCED)
    with sqlite3.connect(state / "sync.sqlite3") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def old_queue(tmp_path: Path, nas: Path, count_synced: int, count_failed: int) -> bytes:
    jobs = []
    for i in range(count_synced + count_failed):
        synced = i < count_synced
        folder = make_folder(tmp_path / "L", f"EQ/Run_{i:02}", sample_files(i))
        jobs.append({
            "id": f"old{i:03}",
            "source": str(folder),
            "target": str(nas / "EQ" / folder.name),
            "status": "synced" if synced else "failed",
            "queued_at": "2026-02-28T10:00:00.000Z",
            "session_id": f"s-{i}",
            "finished_at": "2026-02-28T10:01:00.000Z",
            "error": None if synced else "OSError: [Errno 30] Read-only file system",
        })  # fmt: skip
    return msgspec.json.format(msgspec.json.encode({"jobs": jobs}), indent=2)


async def test_a_truncated_old_json_queue_is_salvaged_and_its_jobs_synced(
    tmp_path: Path, make_queue: QueueFactory
) -> None:
    nas = tmp_path / "nas"
    nas.mkdir()
    state = tmp_path / "state"
    state.mkdir()
    data = old_queue(tmp_path, nas, 26, 20)
    cut = data.rindex(b'"id": "old045"')  # the file ends inside the last job
    (state / "sync-queue.json").write_bytes(data[:cut])
    queue = await make_queue(legacy_root=nas)
    assert len(queue.jobs()) == 45
    assert any("45 job(s) were recovered" in p for p in queue.problems)
    assert not (state / "sync-queue.json").exists()
    assert len(list(state.glob("sync-queue.json.imported-*"))) == 1
    old_failed = [j for j in queue.jobs() if int(j.id[3:]) >= 26]
    assert len(old_failed) == 19
    await wait_for(queue, lambda: all(j.status is JobStatus.SYNCED for j in queue.jobs()), 60)
    for job in old_failed:  # the folders the old queue gave up on reached the NAS
        assert job.root == str(nas) and sha256sum_ok(nas / job.relative)
    await queue.aclose()

    # Imported once: a second start finds the same 45 jobs, not twice as many.
    (state / "sync-queue.json").write_bytes(data)
    again = await make_queue(legacy_root=nas)
    assert len(again.jobs()) == 45


async def test_opening_twice_at_once_opens_one_queue(tmp_path: Path, clock: FakeClock) -> None:
    (tmp_path / "nas").mkdir()
    queue = SyncQueue(tmp_path / "state" / "sync.sqlite3", clock=clock, watch_mounts=False)
    # The tray's prewarm and a first folder's enqueue may both ask for the queue at once.
    await asyncio.gather(queue.open(), queue.open())
    try:
        folder = make_folder(tmp_path / "L", "EQ/Run_1", sample_files())
        job = await queue.enqueue(folder, plan(tmp_path / "nas"), "EQ/Run_1")
        await wait_for(queue, lambda: job.status is JobStatus.SYNCED)
        assert job.attempts == 1  # one worker: the job was not copied twice at once
    finally:
        await queue.aclose(grace_s=0)
