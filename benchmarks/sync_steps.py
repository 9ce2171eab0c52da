"""Where a verified NAS sync spends its time: each step of one attempt, timed alone.

Runs the steps of ``attempt.transfer`` one after the other through each local
transport (copy, rsync, rclone to a folder on the same disk), printing seconds per
step beside a bare ``rsync -a`` of the same folder. The source is read once first.

    .venv/bin/python benchmarks/sync_steps.py               # 1 GiB of 1,000 files
    .venv/bin/python benchmarks/sync_steps.py --files 200 --mib 200
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sync import cpu_seconds, fresh, make_source, warm

from tray_app.creation.sync import SyncJob, SyncOptions, Transport
from tray_app.creation.sync.attempt import make_transport
from tray_app.creation.sync.control import Control
from tray_app.creation.sync.local_target import sync_filesystem
from tray_app.creation.sync.manifest import Manifest


def timed(step: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its programs) of one step."""
    cpu = cpu_seconds()
    started = time.perf_counter()
    step()
    return time.perf_counter() - started, cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--mib", type=int, default=1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="exlab-sync-steps-", dir="/var/tmp") as tmp_name:
        tmp = Path(tmp_name)
        source = make_source(tmp, args.files, args.mib)
        warm(source)
        nas = tmp / "nas"
        print(f"{args.files} files, {args.mib} MiB; load {os.getloadavg()[0]:.2f}")
        fresh(nas)
        bare, bare_cpu = timed(
            lambda: subprocess.run(["rsync", "-a", f"{source}/", f"{nas}/bare/"], check=True)
        )
        flush, _ = timed(lambda: sync_filesystem(nas))
        print(f"bare rsync -a  {bare:6.2f} s ({bare_cpu:5.2f} s CPU), then syncfs {flush:5.2f} s")
        for transport in (Transport.COPY, Transport.RSYNC, Transport.RCLONE):
            fresh(nas)
            job = SyncJob(
                id="bench", source=str(source), root=str(nas), relative="EQ/Run_1",
                transport=transport, queued_at=datetime.now(UTC),
            )  # fmt: skip
            impl = make_transport(job, SyncOptions(), Control())
            made: list[Manifest] = []
            steps = {
                "copy+manifest": timed(
                    lambda impl=impl, made=made: made.append(
                        impl.send(source, "EQ/Run_1", fresh=True)
                    )
                ),
                "check": timed(
                    lambda impl=impl, made=made: impl.verify(source, "EQ/Run_1", made[0])
                ),
                "syncfs": timed(lambda impl=impl: impl.flush("EQ/Run_1")),
            }
            parts = "  ".join(f"{name} {w:5.2f} ({c:5.2f} CPU)" for name, (w, c) in steps.items())
            unflushed = steps["copy+manifest"][0] + steps["check"][0]
            total = unflushed + steps["syncfs"][0]
            print(
                f"{transport.value:<7} {parts}   total {total:6.2f} s ({total / bare:4.2f}x);"
                f" without syncfs {unflushed / bare:4.2f}x"
            )


if __name__ == "__main__":
    main()
