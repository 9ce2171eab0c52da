"""The sync queue over the ``copy`` transport: copy, verify, record, schedule, restart."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from sync_helpers import (
    QueueFactory,
    make_folder,
    no_partials,
    plan,
    record_status,
    same_tree,
    sample_files,
    sha256sum_ok,
    wait_for,
)

from tests.support.clock import FakeClock
from tray_app.creation.record import read_record
from tray_app.creation.sync import Code, JobStatus, SyncOptions
from tray_app.creation.sync.schedule import retry_delay_s


async def test_a_folder_is_copied_verified_and_its_record_follows(
    tmp_path: Path, make_queue: QueueFactory, clock: FakeClock
) -> None:
    local, nas = tmp_path / "ExLab", tmp_path / "nas"
    nas.mkdir()
    folder = make_folder(local, "TECAN/Proj", sample_files())
    make_folder(local, "TECAN/Proj/Runs/Run_1", sample_files(1))  # a creation of its own
    queue = await make_queue()
    seen: list[tuple[JobStatus, str]] = []
    queue.add_observer(lambda job: seen.append((job.status, record_status(folder))))
    job = await queue.enqueue(folder, plan(nas), "TECAN/Proj", session_id="s-1")
    await wait_for(queue, lambda: job.status is JobStatus.SYNCED)

    target = nas / "TECAN" / "Proj"
    assert same_tree(folder / "raw", target / "raw") and (target / "README.md").is_file()
    assert not (target / "Runs" / "Run_1").exists()  # nested creations are synced by their own jobs
    assert sha256sum_ok(target)  # the manifest travelled and the real sha256sum agrees
    assert (folder / ".exlab-wizard" / "checksums.sha256").read_bytes() == (
        target / ".exlab-wizard" / "checksums.sha256"
    ).read_bytes()
    assert no_partials(nas)
    # creation.json followed the job, here and on the NAS: copying, then synced.
    assert [s for s, _ in seen] == [JobStatus.QUEUED, JobStatus.COPYING, JobStatus.SYNCED]
    assert [r for _, r in seen][1:] == ["copying", "synced"]
    for record in (read_record(folder), read_record(target)):
        assert record.sync_status == "synced"
        assert record.sync is not None
        assert record.sync.target == str(target) and record.sync.files == 4
        assert record.sync.synced_at == "2026-03-01T09:00:00.000Z"
    assert (job.files, job.attempts, job.reason) == (4, 1, None)


async def test_a_missing_root_is_never_created_and_the_job_waits_on_a_schedule(
    tmp_path: Path, make_queue: QueueFactory, clock: FakeClock
) -> None:
    folder = make_folder(tmp_path / "ExLab", "EQ/Run_1", sample_files())
    nas = tmp_path / "nas" / "ExLab"
    queue = await make_queue()
    job = await queue.enqueue(folder, plan(nas), "EQ/Run_1")
    await wait_for(queue, lambda: job.status is JobStatus.WAITING)
    assert not nas.exists() and not nas.parent.exists()
    assert job.reason is not None and job.reason.code == Code.NOT_REACHABLE
    assert "not there" in job.reason.message
    start = clock.now
    assert job.next_attempt_at == start + timedelta(seconds=30)
    assert record_status(folder) == "waiting"
    assert read_record(folder).sync.reason_code == "not_reachable"  # type: ignore[union-attr]

    # Not due yet: nothing happens. Then the clock passes the retry and it fails again, later.
    clock.advance(seconds=31)
    queue.wake()
    await wait_for(queue, lambda: job.attempts == 2 and job.status is JobStatus.WAITING)
    assert job.next_attempt_at == clock.now + timedelta(seconds=120)
    assert job.waiting_since == start

    # The share appears: the next retry copies it.
    nas.mkdir(parents=True)
    clock.advance(seconds=121)
    queue.wake()
    await wait_for(queue, lambda: job.status is JobStatus.SYNCED)
    assert sha256sum_ok(nas / "EQ" / "Run_1") and job.waiting_since is None


async def test_a_waiting_job_is_tried_when_its_time_comes_with_nothing_to_wake_the_queue(
    tmp_path: Path, make_queue: QueueFactory, clock: FakeClock
) -> None:
    folder = make_folder(tmp_path / "ExLab", "EQ/Run_1", sample_files())
    nas = tmp_path / "nas" / "ExLab"
    first = await make_queue()
    job = await first.enqueue(folder, plan(nas), "EQ/Run_1")
    await wait_for(first, lambda: job.status is JobStatus.WAITING)
    due = job.next_attempt_at
    assert due is not None
    await first.aclose(grace_s=0)

    # Restarted half a second before the retry is due, with the share back. Once the
    # queue has looked at its schedule (settled: nothing due), only its own timer, armed
    # for the earliest waiting job, can start that retry: after the clock passes the retry
    # time the test neither calls wake() nor adds a job.
    nas.mkdir(parents=True)
    clock.now = due - timedelta(seconds=0.5)
    queue = await make_queue()
    assert await queue.wait_settled(timeout=30)
    restored = queue.get(job.id)  # the queue's own job, which it changes as it works
    assert restored is not None and restored.status is JobStatus.WAITING
    assert restored.attempts == 1
    clock.advance(seconds=1)
    await wait_for(queue, lambda: restored.status is JobStatus.SYNCED)
    assert restored.attempts == 2
    assert sha256sum_ok(nas / "EQ" / "Run_1")


def test_backoff_schedule_and_jitter() -> None:
    assert [retry_delay_s(n, lambda: 0.5) for n in range(1, 8)] == [
        30,
        120,
        600,
        1800,
        7200,
        7200,
        7200,
    ]
    assert retry_delay_s(1, lambda: 0.0) == 24 and retry_delay_s(1, lambda: 0.999999) < 36
    assert retry_delay_s(5, lambda: 0.0) == 5760


async def test_a_vanished_local_folder_fails_for_good_and_says_why(
    tmp_path: Path, make_queue: QueueFactory
) -> None:
    nas = tmp_path / "nas"
    nas.mkdir()
    queue = await make_queue()
    job = await queue.enqueue(tmp_path / "gone", plan(nas), "EQ/gone")
    await wait_for(queue, lambda: job.status is JobStatus.FAILED)
    assert job.reason is not None and job.reason.code == Code.SOURCE_MISSING
    assert not job.reason.transient and job.next_attempt_at is None
    assert "gone" in job.reason.message


async def test_retry_now_copies_a_synced_folder_again(
    tmp_path: Path, make_queue: QueueFactory
) -> None:
    nas = tmp_path / "nas"
    nas.mkdir()
    folder = make_folder(tmp_path / "ExLab", "EQ/Run_1", sample_files())
    queue = await make_queue()
    job = await queue.enqueue(folder, plan(nas), "EQ/Run_1")
    await wait_for(queue, lambda: job.status is JobStatus.SYNCED)
    (nas / "EQ/Run_1/raw/data_0.csv").write_bytes(b"damaged on the NAS\n")
    (folder / "raw" / "extra.csv").write_bytes(b"added later\n")
    await queue.retry(job.id)
    await wait_for(queue, lambda: job.status is JobStatus.SYNCED and job.attempts == 2)
    assert same_tree(folder / "raw", nas / "EQ/Run_1/raw") and sha256sum_ok(nas / "EQ/Run_1")
    assert no_partials(nas)


async def test_fifty_jobs_across_a_restart_are_all_synced_and_verified(
    tmp_path: Path, make_queue: QueueFactory
) -> None:
    nas = tmp_path / "nas"
    nas.mkdir()
    local = tmp_path / "ExLab"
    # 256 KiB each at 1 MiB/s: every copy takes at least 0.25 s, so a stop made while a job
    # is copying always finds it in flight.
    big = {"raw/big.bin": os.urandom(256 * 1024)}
    folders = [
        make_folder(local, f"EQ/P/Runs/Run_{i:02}", sample_files(i) | big) for i in range(50)
    ]
    first = await make_queue(SyncOptions(bwlimit_kib=1024))
    jobs = [await first.enqueue(f, plan(nas), f"EQ/P/Runs/{f.name}") for f in folders]
    await wait_for(
        first,
        lambda: (
            sum(j.status is JobStatus.SYNCED for j in jobs) >= 5
            and any(j.status is JobStatus.COPYING for j in first.jobs())
        ),
    )
    assert not await first.aclose(grace_s=0)  # a copy was in flight: stopped
    assert any(j.status is JobStatus.QUEUED for j in jobs)
    synced_before = sum(j.status is JobStatus.SYNCED for j in jobs)
    assert synced_before < 50

    second = await make_queue()
    assert len(second.jobs()) == 50
    await wait_for(second, lambda: all(j.status is JobStatus.SYNCED for j in second.jobs()), 120)
    for folder in folders:
        target = nas / "EQ/P/Runs" / folder.name
        assert sha256sum_ok(target) and same_tree(folder / "raw", target / "raw")
        assert read_record(target).sync_status == "synced" == record_status(folder)
    assert no_partials(nas)


async def test_a_copy_that_works_retries_the_jobs_waiting_for_the_same_nas_at_once(
    tmp_path: Path, make_queue: QueueFactory, clock: FakeClock
) -> None:
    nas = tmp_path / "nas"
    other_nas = tmp_path / "other-nas"
    local = tmp_path / "ExLab"
    waiting = [make_folder(local, f"EQ/Run_{i}", sample_files(i)) for i in range(2)]
    elsewhere = make_folder(local, "EQ/Run_x", sample_files(9))
    queue = await make_queue()
    jobs = [await queue.enqueue(f, plan(nas), f"EQ/{f.name}") for f in waiting]
    other = await queue.enqueue(elsewhere, plan(other_nas), "EQ/Run_x")
    await wait_for(queue, lambda: all(j.status is JobStatus.WAITING for j in [*jobs, other]))
    due = min(j.next_attempt_at for j in jobs if j.next_attempt_at)
    assert due > clock.now  # nothing is due: only an event can send them now

    # The NAS folder is back (no mount table change: a path made again, or an SSH NAS).
    # A new folder for it copies at once; its success sends the two waiting ones too.
    nas.mkdir()
    other_nas.mkdir()
    fresh = make_folder(local, "EQ/Run_new", sample_files(5))
    new = await queue.enqueue(fresh, plan(nas), "EQ/Run_new")
    await wait_for(queue, lambda: all(j.status is JobStatus.SYNCED for j in [*jobs, new]))
    assert all(j.attempts == 2 for j in jobs) and clock.now < due
    for folder in [*waiting, fresh]:
        assert sha256sum_ok(nas / "EQ" / folder.name)
    # A job for another NAS is not this NAS's news: it keeps its schedule.
    assert other.status is JobStatus.WAITING and other.attempts == 1
