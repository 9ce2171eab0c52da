"""NAS sync figures: a verified sync of one folder through each transport, beside the bare
tool copying the same folder in the same run (``rsync -a``, ``rclone copy``).

Prints seconds per run and the ratio to the bare tool (the goal: within 1.3x). Each run
copies into an empty target on the same disk (a local "NAS"); ``--ssh`` runs rsync over
SSH and rclone over SFTP to a throwaway sshd on 127.0.0.1 instead (needs root, as the
tests do). The source is read once before timing, so every run reads it from the page
cache. Rounds run every variant in turn; medians of wall and CPU seconds (this process's
threads and the programs it ran) are printed: on a shared VM CPU is the steadier figure.

    .venv/bin/python benchmarks/sync.py                 # 1 GiB of 1,000 files, 3 rounds
    .venv/bin/python benchmarks/sync.py --files 200 --mib 100 --ssh --repeat 1
    .venv/bin/python benchmarks/sync.py --ssh --only rsync   # 1 GiB over SSH, no SFTP
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "unit" / "sync"))

from tray_app.creation.sync import JobStatus, SyncOptions, SyncPlan, SyncQueue, Transport
from tray_app.creation.sync.local_target import sync_filesystem

if TYPE_CHECKING:
    from sync_sshd import Sshd


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


def cpu_seconds() -> float:
    """CPU seconds of this process (every thread) and of the programs it waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def bare(cmd: list[str], then_syncfs: Path | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of the bare tool (and a syncfs of the target after it)."""
    cpu, started = cpu_seconds(), time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    if then_syncfs is not None:
        sync_filesystem(then_syncfs)
    return time.perf_counter() - started, cpu_seconds() - cpu


async def verified(
    source: Path, root: str, transport: Transport, options: SyncOptions, db: Path
) -> tuple[float, float]:
    queue = SyncQueue(db, options=options, watch_mounts=False)
    await queue.open()
    cpu, started = cpu_seconds(), time.perf_counter()
    job = await queue.enqueue(source, SyncPlan(root, transport, False), "EQ/Run_1")
    while job.status not in (JobStatus.SYNCED, JobStatus.FAILED, JobStatus.WAITING):
        await queue.wait_settled(3600)
    elapsed, used = time.perf_counter() - started, cpu_seconds() - cpu
    await queue.aclose()
    if job.status is not JobStatus.SYNCED:
        raise SystemExit(f"{transport} did not sync: {job.reason}")
    return elapsed, used


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    sync_filesystem(path)  # the last run's writes are not the next one's to flush
    return path


#: One run: its name, what it is measured against (None: a baseline), and how to do it.
Run = tuple[str, str | None, Callable[[], tuple[float, float]]]


def local_runs(source: Path, nas: Path, db: Path) -> list[Run]:
    def verify(transport: Transport) -> Callable[[], tuple[float, float]]:
        return lambda: asyncio.run(verified(source, str(nas), transport, SyncOptions(), db))

    rsync = ["rsync", "-a", f"{source}/", f"{nas}/bare/"]
    return [
        ("bare rsync -a", None, lambda: bare(rsync)),
        ("bare rsync -a, then syncfs", None, lambda: bare(rsync, then_syncfs=nas)),
        ("bare rclone copy", None, lambda: bare(["rclone", "copy", str(source), f"{nas}/bare"])),
        ("verified copy", "bare rsync -a", verify(Transport.COPY)),
        ("verified rsync (local)", "bare rsync -a", verify(Transport.RSYNC)),
        ("verified rclone (local)", "bare rclone copy", verify(Transport.RCLONE)),
    ]


def ssh_runs(source: Path, nas: Path, db: Path, tmp: Path, server: Sshd) -> list[Run]:
    ssh = SyncOptions(
        ssh_port=server.port,
        ssh_identity=server.identity,
        ssh_known_hosts=server.known_hosts,
        ssh_control_dir=server.folder,
    )
    conf = tmp / "rclone.conf"
    conf.write_text(
        f"[nas]\ntype = sftp\nhost = 127.0.0.1\nport = {server.port}\nuser = root\n"
        f"key_file = {server.identity}\nknown_hosts_file = {server.known_hosts}\n"
        "shell_type = unix\nmd5sum_command = md5sum\nsha1sum_command = sha1sum\n"
    )
    rsync = ["rsync", "-a", "-e", " ".join(ssh.ssh_args()), f"{source}/"]
    rclone = SyncOptions(rclone_config=conf)
    return [
        ("bare rsync -a over SSH", None, lambda: bare([*rsync, f"root@127.0.0.1:{nas}/bare/"])),
        (
            "bare rclone copy over SFTP",
            None,
            lambda: bare(["rclone", "copy", f"--config={conf}", str(source), f"nas:{nas}/bare"]),
        ),
        (
            "verified rsync over SSH",
            "bare rsync -a over SSH",
            lambda: asyncio.run(
                verified(source, f"root@127.0.0.1:{nas}", Transport.RSYNC, ssh, db)
            ),
        ),
        (
            "verified rclone over SFTP",
            "bare rclone copy over SFTP",
            lambda: asyncio.run(verified(source, f"nas:{nas}", Transport.RCLONE, rclone, db)),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians are printed")
    parser.add_argument("--ssh", action="store_true", help="only over SSH / SFTP (root)")
    parser.add_argument(
        "--only", metavar="TOOL", help="only the runs naming TOOL (rsync, rclone, copy)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="exlab-sync-bench-", dir="/var/tmp") as tmp_name:
        tmp = Path(tmp_name)
        source = make_source(tmp, args.files, args.mib)
        warm(source)
        nas = tmp / "nas"
        db = tmp / "state" / "sync.sqlite3"
        server = None
        if args.ssh:
            from sync_sshd import start_sshd

            server = start_sshd(tmp / "sshd")
        try:
            runs = (
                ssh_runs(source, nas, db, tmp, server)
                if server is not None
                else local_runs(source, nas, db)
            )
            if args.only:
                wanted = {name for name, _, _ in runs if args.only in name}
                wanted |= {base for name, base, _ in runs if name in wanted and base}
                runs = [run for run in runs if run[0] in wanted]
            loads = [os.getloadavg()[0]]
            walls: dict[str, list[float]] = {name: [] for name, _, _ in runs}
            cpus: dict[str, list[float]] = {name: [] for name, _, _ in runs}
            for _round in range(args.repeat):  # interleaved: a change of load hits every run
                for name, _, run in runs:
                    fresh(nas)
                    db.unlink(missing_ok=True)
                    wall, cpu = run()
                    walls[name].append(wall)
                    cpus[name].append(cpu)
                loads.append(os.getloadavg()[0])
        finally:
            if server is not None:
                server.stop()
    print(
        f"{args.files} files, {args.mib} MiB; medians of {args.repeat} rounds; "
        f"load {min(loads):.2f}-{max(loads):.2f}"
    )
    print(f"{'run':<28} {'wall s':>7} {'vs bare':>8} {'CPU s':>7} {'vs bare':>8}")
    for name, baseline, _ in runs:
        wall, cpu = median(walls[name]), median(cpus[name])
        if baseline is None:
            print(f"{name:<28} {wall:7.2f} {'':>8} {cpu:7.2f}")
        else:
            w_ratio, c_ratio = wall / median(walls[baseline]), cpu / median(cpus[baseline])
            print(f"{name:<28} {wall:7.2f} {w_ratio:7.2f}x {cpu:7.2f} {c_ratio:7.2f}x")


if __name__ == "__main__":
    main()
