"""NAS sync figures: a verified sync of one folder through each transport, beside the bare
tool copying the same folder in the same run (``rsync -a``, ``rclone copy``).

Prints seconds per run and the ratio to the bare tool (the goal: within 1.3x). Each run
copies into an empty target on the same disk (a local "NAS"); ``--ssh`` adds rsync over
SSH and rclone over SFTP to a throwaway sshd on 127.0.0.1 (needs root, as the tests do).
The source is read once before timing, so every run reads it from the page cache.

    .venv/bin/python benchmarks/sync.py                 # 1 GiB of 1,000 files
    .venv/bin/python benchmarks/sync.py --files 200 --mib 200 --ssh
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "unit" / "sync"))

from tray_app.creation.sync import JobStatus, SyncOptions, SyncPlan, SyncQueue, Transport


def make_source(root: Path, files: int, total_mib: int) -> Path:
    source = root / "local" / "EQ" / "Run_1"
    size = total_mib * 1024 * 1024 // files
    block = os.urandom(size)
    for i in range(files):
        path = source / f"raw/part_{i // 100:02}" / f"file_{i:04}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        # Different bytes per file (the first 8 bytes), same cost to make.
        path.write_bytes(i.to_bytes(8, "big") + block[8:])
    return source


def warm(source: Path) -> None:
    for path in source.rglob("*"):
        if path.is_file():
            path.read_bytes()


def bare(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - started


async def verified(
    source: Path, root: str, transport: Transport, options: SyncOptions, db: Path
) -> float:
    queue = SyncQueue(db, options=options, watch_mounts=False)
    await queue.open()
    started = time.perf_counter()
    job = await queue.enqueue(source, SyncPlan(root, transport, False), "EQ/Run_1")
    while job.status not in (JobStatus.SYNCED, JobStatus.FAILED, JobStatus.WAITING):
        await queue.wait_settled(3600)
    elapsed = time.perf_counter() - started
    await queue.aclose()
    if job.status is not JobStatus.SYNCED:
        raise SystemExit(f"{transport} did not sync: {job.reason}")
    return elapsed


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--ssh", action="store_true", help="also over SSH / SFTP (root)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="exlab-sync-bench-", dir="/var/tmp") as tmp_name:
        tmp = Path(tmp_name)
        source = make_source(tmp, args.files, args.mib)
        warm(source)
        nas = tmp / "nas"
        db = tmp / "state" / "sync.sqlite3"
        print(f"{args.files} files, {args.mib} MiB; load {os.getloadavg()[0]:.2f}")
        rows: list[tuple[str, float, float | None]] = []

        fresh(nas)
        rsync_bare = bare(["rsync", "-a", f"{source}/", f"{nas}/bare/"])
        rows.append(("bare rsync -a", rsync_bare, None))
        fresh(nas)
        rclone_bare = bare(["rclone", "copy", str(source), f"{nas}/bare"])
        rows.append(("bare rclone copy", rclone_bare, None))
        for name, transport, baseline in (
            ("verified copy", Transport.COPY, rsync_bare),
            ("verified rsync (local)", Transport.RSYNC, rsync_bare),
            ("verified rclone (local)", Transport.RCLONE, rclone_bare),
        ):
            fresh(nas)
            db.unlink(missing_ok=True)
            seconds = asyncio.run(verified(source, str(nas), transport, SyncOptions(), db))
            rows.append((name, seconds, seconds / baseline))

        if args.ssh:
            from sync_sshd import start_sshd

            server = start_sshd(tmp / "sshd")
            try:
                ssh = SyncOptions(
                    ssh_port=server.port,
                    ssh_identity=server.identity,
                    ssh_known_hosts=server.known_hosts,
                    ssh_control_dir=server.folder,
                )
                fresh(nas)
                ssh_cmd = " ".join(ssh.ssh_args())
                rsync_ssh = bare(
                    ["rsync", "-a", "-e", ssh_cmd, f"{source}/", f"root@127.0.0.1:{nas}/bare/"]
                )
                rows.append(("bare rsync -a over SSH", rsync_ssh, None))
                conf = tmp / "rclone.conf"
                conf.write_text(
                    f"[nas]\ntype = sftp\nhost = 127.0.0.1\nport = {server.port}\nuser = root\n"
                    f"key_file = {server.identity}\nknown_hosts_file = {server.known_hosts}\n"
                    "shell_type = unix\nmd5sum_command = md5sum\nsha1sum_command = sha1sum\n"
                )
                fresh(nas)
                rclone_sftp = bare(
                    ["rclone", "copy", f"--config={conf}", str(source), f"nas:{nas}/bare"]
                )
                rows.append(("bare rclone copy over SFTP", rclone_sftp, None))
                fresh(nas)
                db.unlink(missing_ok=True)
                seconds = asyncio.run(
                    verified(source, f"root@127.0.0.1:{nas}", Transport.RSYNC, ssh, db)
                )
                rows.append(("verified rsync over SSH", seconds, seconds / rsync_ssh))
                fresh(nas)
                db.unlink(missing_ok=True)
                options = SyncOptions(rclone_config=conf)
                seconds = asyncio.run(verified(source, f"nas:{nas}", Transport.RCLONE, options, db))
                rows.append(("verified rclone over SFTP", seconds, seconds / rclone_sftp))
            finally:
                server.stop()
        for name, seconds, ratio in rows:
            versus = f"{ratio:5.2f}x the bare tool" if ratio is not None else "(baseline)"
            print(f"{name:<28} {seconds:7.2f} s  {versus}")


if __name__ == "__main__":
    main()
