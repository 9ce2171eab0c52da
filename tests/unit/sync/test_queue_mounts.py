"""A NAS share that goes away and comes back: unmounted mid-queue, read-only, not mounted.

The share is a real tmpfs, bind-mounted at the NAS mount point, so unmounting
the mount point and mounting it again brings the same files back (as a NAS
does). Needs root, as CI has.
"""

from __future__ import annotations

from pathlib import Path

from sync_helpers import (
    Mounts,
    QueueFactory,
    free_of,
    make_folder,
    needs_root,
    no_partials,
    plan,
    same_tree,
    sample_files,
    sha256sum_ok,
    wait_for,
)

from tray_app.creation.sync import Code, JobStatus, SyncJob

pytestmark = needs_root


def share(tmp_path: Path, mounts: Mounts) -> tuple[Path, Path]:
    """(the mount point, the NAS root inside it) with a tmpfs share bound there."""
    backing = mounts.tmpfs(tmp_path / "share")
    (backing / "ExLab").mkdir()
    mount_point = mounts.bind(backing, tmp_path / "mnt" / "nas")
    return mount_point, mount_point / "ExLab"


async def test_share_unmounted_mid_queue_waits_then_syncs_when_mounted_again(
    tmp_path: Path, mounts: Mounts, make_queue: QueueFactory
) -> None:
    mount_point, root = share(tmp_path, mounts)
    folders = [make_folder(tmp_path / "L", f"EQ/Run_{i}", sample_files(i)) for i in range(8)]
    queue = await make_queue()
    jobs: list[SyncJob] = []

    def unmount_after_three(job: SyncJob) -> None:
        if job.status is JobStatus.SYNCED and sum(j.status is JobStatus.SYNCED for j in jobs) == 3:
            mounts.unmount(mount_point)

    queue.add_observer(unmount_after_three)
    for folder in folders:
        jobs.append(
            await queue.enqueue(folder, plan(root, require_mount=True), f"EQ/{folder.name}")
        )
    await wait_for(
        queue,
        lambda: (
            all(j.status is not JobStatus.QUEUED for j in jobs)
            and not any(j.status is JobStatus.COPYING for j in jobs)
        ),
    )
    waiting = [j for j in jobs if j.status is JobStatus.WAITING]
    assert len(waiting) == 5 and sum(j.status is JobStatus.SYNCED for j in jobs) == 3
    assert all(j.reason and j.reason.code == Code.NOT_REACHABLE for j in waiting)
    assert free_of(mount_point)  # nothing was copied onto the local disk under the mount point

    # Someone recreates the folder on the local disk: still not the NAS (require_mount).
    # (The unmount's own mount-table event may already have retried a job once, and may be
    # retrying it now: wait for an attempt that saw the new folder, not a count.)
    root.mkdir(parents=True)
    attempts_before = waiting[0].attempts
    await queue.retry(waiting[0].id)
    await wait_for(
        queue,
        lambda: (
            waiting[0].attempts > attempts_before
            and waiting[0].status is JobStatus.WAITING
            and "not mounted" in (waiting[0].reason.message if waiting[0].reason else "")
        ),
    )
    assert not list(root.iterdir())
    root.rmdir()

    # The share comes back: the mount table change retries every waiting job at once
    # (the fake clock has not moved, so no schedule would have).
    mounts.bind(tmp_path / "share", mount_point)
    await wait_for(queue, lambda: all(j.status is JobStatus.SYNCED for j in jobs))
    for folder in folders:
        target = root / "EQ" / folder.name
        assert sha256sum_ok(target) and same_tree(folder / "raw", target / "raw")
    assert no_partials(root)


async def test_read_only_share_waits_and_syncs_once_writable(
    tmp_path: Path, mounts: Mounts, make_queue: QueueFactory
) -> None:
    mount_point, root = share(tmp_path, mounts)
    mounts.remount(mount_point, read_only=True)
    folder = make_folder(tmp_path / "L", "EQ/Run_1", sample_files())
    queue = await make_queue()
    job = await queue.enqueue(folder, plan(root), "EQ/Run_1")
    await wait_for(queue, lambda: job.status is JobStatus.WAITING)
    assert job.reason is not None and job.reason.code == Code.READ_ONLY and job.reason.transient
    mounts.remount(mount_point, read_only=False)  # a remount is a mount table change too
    await wait_for(queue, lambda: job.status is JobStatus.SYNCED)
    assert sha256sum_ok(root / "EQ" / "Run_1")


async def test_share_turning_read_only_as_the_copy_starts_leaves_no_half_copy(
    tmp_path: Path, mounts: Mounts, make_queue: QueueFactory
) -> None:
    from tray_app.creation.sync import SyncOptions

    mount_point, root = share(tmp_path, mounts)
    big = {f"raw/part_{i}.bin": bytes([i]) * 64 * 1024 for i in range(16)}
    folder = make_folder(tmp_path / "L", "EQ/Run_1", big)
    queue = await make_queue(SyncOptions(bwlimit_kib=512))  # about 2 s for 1 MiB

    def go_read_only(job: SyncJob) -> None:
        if job.status is JobStatus.COPYING:
            mounts.remount(mount_point, read_only=True)

    queue.add_observer(go_read_only)
    job = await queue.enqueue(folder, plan(root), "EQ/Run_1")
    await wait_for(queue, lambda: job.status is JobStatus.WAITING)
    assert job.reason is not None and job.reason.code == Code.READ_ONLY
    assert not (root / "EQ" / "Run_1").exists()  # only a hidden partial folder, never the name


def test_the_filesystem_type_of_a_path_is_its_innermost_mount(
    tmp_path: Path, mounts: Mounts
) -> None:
    from tray_app.creation.sync.local_target import filesystem_type

    outside = filesystem_type(tmp_path)
    assert outside is not None
    mount_point, root = share(tmp_path, mounts)
    assert filesystem_type(root / "EQ" / "not-yet") == "tmpfs"
    mounts.unmount(mount_point)
    assert filesystem_type(mount_point) == outside
