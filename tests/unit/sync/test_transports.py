"""rsync (local and over SSH) and rclone (an SFTP remote) against a real sshd on 127.0.0.1:
copies verified, refusals worded, permanent or passing as they should be, checksums
that catch what sizes and times miss, and the bandwidth limit."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sync_helpers import (
    QueueFactory,
    job_for,
    make_folder,
    needs_root,
    no_partials,
    plan,
    same_tree,
    sample_files,
    sha256sum_ok,
    wait_for,
)
from sync_sshd import Sshd, ensure_unprivileged_user, free_port

from tray_app.creation.record import read_record
from tray_app.creation.sync import Code, JobStatus, SyncFailure, SyncOptions, Transport
from tray_app.creation.sync.attempt import make_transport
from tray_app.creation.sync.control import Control
from tray_app.creation.sync.manifest import write_manifest

pytestmark = needs_root


def rclone_config(tmp_path: Path, sshd: Sshd, user: str = "root", *, hashes: bool = True) -> Path:
    """An SFTP remote; without ``hashes`` one whose server computes none (rclone can
    compare an upload only by its size, and its copy only by reading it back)."""
    config = tmp_path / "rclone.conf"
    commands = "md5sum_command = md5sum\nsha1sum_command = sha1sum\n"
    if not hashes:
        commands = "md5sum_command = none\nsha1sum_command = none\n"
    config.write_text(
        "[nas]\n"
        "type = sftp\n"
        "host = 127.0.0.1\n"
        f"port = {sshd.port}\n"
        f"user = {user}\n"
        f"key_file = {sshd.identity}\n"
        f"known_hosts_file = {sshd.known_hosts}\n"
        "shell_type = unix\n" + commands
    )
    return config


def targets(
    tmp_path: Path, ssh_options: SyncOptions, sshd: Sshd
) -> dict[str, tuple[Transport, str, SyncOptions]]:
    nas = tmp_path / "nas"
    return {
        "rsync-local": (Transport.RSYNC, str(nas), SyncOptions()),
        "rsync-ssh": (Transport.RSYNC, f"root@127.0.0.1:{nas}", ssh_options),
        "rclone-local": (Transport.RCLONE, str(nas), SyncOptions()),
        "rclone-sftp": (
            Transport.RCLONE,
            f"nas:{nas}",
            SyncOptions(rclone_config=rclone_config(tmp_path, sshd)),
        ),
        "rclone-sftp-no-hash": (
            Transport.RCLONE,
            f"nas:{nas}",
            SyncOptions(rclone_config=rclone_config(tmp_path, sshd, hashes=False)),
        ),
    }


@pytest.mark.parametrize(
    "kind", ["rsync-local", "rsync-ssh", "rclone-local", "rclone-sftp", "rclone-sftp-no-hash"]
)
async def test_transport_syncs_and_verifies_a_folder(
    kind: str, tmp_path: Path, sshd: Sshd, ssh_options: SyncOptions, make_queue: QueueFactory
) -> None:
    transport, root, options = targets(tmp_path, ssh_options, sshd)[kind]
    nas = tmp_path / "nas"
    nas.mkdir()
    local = tmp_path / "L"
    project = make_folder(local, "EQ/Proj", sample_files(0))
    run = make_folder(local, "EQ/Proj/Runs/Run_1", sample_files(1))
    queue = await make_queue(options)
    first = await queue.enqueue(project, plan(root, transport), "EQ/Proj")
    second = await queue.enqueue(run, plan(root, transport), "EQ/Proj/Runs/Run_1")
    await wait_for(queue, lambda: first.status is second.status is JobStatus.SYNCED)
    for folder, target in ((project, nas / "EQ/Proj"), (run, nas / "EQ/Proj/Runs/Run_1")):
        assert sha256sum_ok(target) and same_tree(folder / "raw", target / "raw")
        record = read_record(target)
        assert record.sync_status == "synced" and record.sync and record.sync.files == 4
        assert read_record(folder).sync_status == "synced"
    assert not (nas / "EQ/Proj/Runs/Run_1/Runs").exists()
    assert no_partials(nas)


@pytest.mark.parametrize("kind", ["rsync-local", "rsync-ssh", "rclone-sftp"])
async def test_a_missing_root_is_not_reachable_and_never_created(
    kind: str, tmp_path: Path, sshd: Sshd, ssh_options: SyncOptions, make_queue: QueueFactory
) -> None:
    transport, root, options = targets(tmp_path, ssh_options, sshd)[kind]
    folder = make_folder(tmp_path / "L", "EQ/Run_1", sample_files())
    queue = await make_queue(options)
    job = await queue.enqueue(folder, plan(root, transport), "EQ/Run_1")
    await wait_for(queue, lambda: job.status is JobStatus.WAITING)
    assert job.reason is not None and job.reason.code == Code.NOT_REACHABLE, job.reason
    assert not (tmp_path / "nas").exists()


@pytest.mark.parametrize(
    "kind",
    ["copy", "rsync-local", "rsync-ssh", "rclone-local", "rclone-sftp", "rclone-sftp-no-hash"],
)
async def test_verification_catches_a_change_that_size_and_time_hide(
    kind: str, tmp_path: Path, sshd: Sshd, ssh_options: SyncOptions, make_queue: QueueFactory
) -> None:
    every = targets(tmp_path, ssh_options, sshd)
    transport, root, options = every.get(
        kind, (Transport.COPY, str(tmp_path / "nas"), SyncOptions())
    )
    (tmp_path / "nas").mkdir()
    folder = make_folder(tmp_path / "L", "EQ/Run_1", sample_files())
    queue = await make_queue(options)
    job = await queue.enqueue(folder, plan(root, transport), "EQ/Run_1")
    await wait_for(queue, lambda: job.status is JobStatus.SYNCED)
    # Bit rot on the NAS: same size, same modification time, other bytes.
    damaged = tmp_path / "nas/EQ/Run_1/raw/data_1.csv"
    stat = damaged.stat()
    data = bytearray(damaged.read_bytes())
    data[5] ^= 0x01
    damaged.write_bytes(bytes(data))
    os.utime(damaged, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    manifest = write_manifest(folder)
    verifier = make_transport(job, options, Control())
    with pytest.raises(SyncFailure) as caught:
        await asyncio.to_thread(verifier.verify, folder, "EQ/Run_1", manifest)
    assert caught.value.reason.code == Code.MISMATCH and caught.value.reason.transient
    assert "data_1.csv" in caught.value.reason.message


async def test_a_refused_key_fails_for_good_and_says_so(
    tmp_path: Path, ssh_options: SyncOptions, make_queue: QueueFactory
) -> None:
    stranger = tmp_path / "stranger_key"
    keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)]
    await asyncio.to_thread(subprocess.run, keygen, check=True)
    (tmp_path / "nas").mkdir()
    folder = make_folder(tmp_path / "L", "EQ/Run_1", sample_files())
    # Its own login, not one shared by an earlier test (ssh shares them per host and user).
    queue = await make_queue(replace(ssh_options, ssh_identity=stranger, ssh_control_dir=None))
    job = await queue.enqueue(
        folder, plan(f"root@127.0.0.1:{tmp_path / 'nas'}", Transport.RSYNC), "EQ/Run_1"
    )
    await wait_for(queue, lambda: job.status is JobStatus.FAILED)
    assert job.reason is not None and job.reason.code == Code.AUTH_REFUSED
    assert "refused the login" in job.reason.message and not job.reason.transient


async def test_a_closed_port_is_a_passing_failure(
    tmp_path: Path, ssh_options: SyncOptions, make_queue: QueueFactory
) -> None:
    folder = make_folder(tmp_path / "L", "EQ/Run_1", sample_files())
    queue = await make_queue(replace(ssh_options, ssh_port=free_port()))
    job = await queue.enqueue(
        folder, plan(f"root@127.0.0.1:{tmp_path}", Transport.RSYNC), "EQ/Run_1"
    )
    await wait_for(queue, lambda: job.status is JobStatus.WAITING)
    assert job.reason is not None and job.reason.code == Code.CONNECTION_REFUSED


async def test_a_target_the_nas_account_may_not_write_waits_until_it_may(
    tmp_path: Path, sshd: Sshd, ssh_options: SyncOptions, make_queue: QueueFactory
) -> None:
    # Root ignores file permissions, so this logs in as an unprivileged account.
    user = ensure_unprivileged_user(sshd)
    nas = Path("/srv") / f"exlab-sync-test-{os.getpid()}-{tmp_path.name}"
    nas.mkdir(parents=True, mode=0o755)  # owned by root: the account may read, not write
    try:
        os.chmod(tmp_path, 0o755)
        folder = make_folder(tmp_path / "L", "EQ/Run_1", sample_files())
        queue = await make_queue(ssh_options)
        job = await queue.enqueue(
            folder, plan(f"{user}@127.0.0.1:{nas}", Transport.RSYNC), "EQ/Run_1"
        )
        await wait_for(queue, lambda: job.status is JobStatus.WAITING)
        assert job.reason is not None and job.reason.code == Code.NOT_REACHABLE
        assert "not writable" in job.reason.message
        assert not list(nas.iterdir())
        account = pwd.getpwnam(user)
        os.chown(nas, account.pw_uid, account.pw_gid)  # IT fixes the share's permissions
        await queue.retry(job.id)
        await wait_for(queue, lambda: job.status is JobStatus.SYNCED)
        assert sha256sum_ok(nas / "EQ/Run_1")
        assert (nas / "EQ/Run_1/raw/data_0.csv").stat().st_uid == account.pw_uid
    finally:
        shutil.rmtree(nas, ignore_errors=True)


@pytest.mark.parametrize("kind", ["copy", "rsync-local", "rclone-local", "rclone-sftp"])
async def test_the_bandwidth_limit_is_honoured(
    kind: str, tmp_path: Path, sshd: Sshd, ssh_options: SyncOptions, make_queue: QueueFactory
) -> None:
    every = targets(tmp_path, ssh_options, sshd)
    transport, root, options = every.get(
        kind, (Transport.COPY, str(tmp_path / "nas"), SyncOptions())
    )
    (tmp_path / "nas").mkdir()
    folder = make_folder(tmp_path / "L", "EQ/Run_1", {"raw/big.bin": os.urandom(768 * 1024)})
    queue = await make_queue(replace(options, bwlimit_kib=256))
    started = time.monotonic()
    job = await queue.enqueue(folder, plan(root, transport), "EQ/Run_1")
    await wait_for(queue, lambda: job.status is JobStatus.SYNCED, 60)
    # 768 KiB at 256 KiB/s takes 3 s; a limit that was ignored takes a fraction of that.
    # Only a lower bound: a loaded machine makes it slower, never faster.
    assert time.monotonic() - started >= 2.0


@pytest.mark.parametrize("transport", [Transport.COPY, Transport.RSYNC, Transport.RCLONE])
async def test_a_file_changed_after_it_was_hashed_fails_the_check(
    transport: Transport, tmp_path: Path
) -> None:
    nas = tmp_path / "nas"
    nas.mkdir()
    folder = make_folder(tmp_path / "L", "EQ/Run_1", sample_files())
    job = job_for(folder, nas, transport)
    sender = make_transport(job, SyncOptions(), Control())
    manifest = await asyncio.to_thread(sender.send, folder, "EQ/Run_1", True)
    assert (nas / "EQ/Run_1/.exlab-wizard/checksums.sha256").read_text() == manifest.text()
    await asyncio.to_thread(sender.verify, folder, "EQ/Run_1", manifest)  # the copy is good
    # Written again after it was hashed and copied: same bytes, but the manifest's line
    # is of the earlier file, so the copy cannot be called verified.
    changed = folder / "raw/data_2.csv"
    changed.write_bytes(changed.read_bytes())
    os.utime(changed, ns=(time.time_ns(), time.time_ns() + 10**9))
    with pytest.raises(SyncFailure) as caught:
        await asyncio.to_thread(sender.verify, folder, "EQ/Run_1", manifest)
    assert caught.value.reason.code == Code.MISMATCH
    assert "raw/data_2.csv changed while it was copied" in caught.value.reason.message


@pytest.mark.parametrize("kind", ["rsync-local", "rsync-ssh", "rclone-sftp"])
async def test_a_folder_without_a_record_gets_its_manifest_on_the_nas(
    kind: str, tmp_path: Path, sshd: Sshd, ssh_options: SyncOptions, make_queue: QueueFactory
) -> None:
    transport, root, options = targets(tmp_path, ssh_options, sshd)[kind]
    (tmp_path / "nas").mkdir()
    folder = tmp_path / "L" / "EQ" / "Run_1"
    (folder / "raw").mkdir(parents=True)
    (folder / "raw" / "a.bin").write_bytes(b"a" * 5000)
    queue = await make_queue(options)
    job = await queue.enqueue(folder, plan(root, transport), "EQ/Run_1")
    await wait_for(queue, lambda: job.status is JobStatus.SYNCED)
    assert sha256sum_ok(tmp_path / "nas/EQ/Run_1") and job.files == 1
