"""NAS sync seen from outside: a real ``exlab-tray serve`` and the real CLI (subprocesses).

A folder is created and synced; ``exlab-tray sync`` and ``/health`` say so; a NAS
that went away leaves the next folder waiting, in words, and ``--retry`` sends it
once it is back; a folder with an unsafe name is refused by ``--requeue`` until fixed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.nas_settings import write_nas_settings
from tray_app.headless import READY_PREFIX

EXE = [sys.executable, "-m", "tray_app"]


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXE, *argv], capture_output=True, text=True, timeout=60, check=False)


def sync_listing() -> dict[str, Any]:
    done = cli("sync", "--json")
    assert done.returncode in (0, 1), done.stderr
    listing: dict[str, Any] = json.loads(done.stdout)
    return listing


def wait_for_jobs(count: int, *statuses: str, limit_s: float = 60) -> list[dict[str, Any]]:
    """Ask the running instance until ``count`` jobs are in ``statuses`` (bounded)."""
    deadline = time.monotonic() + limit_s
    while True:
        jobs = sync_listing()["jobs"]
        if len(jobs) == count and all(j["status"] in statuses for j in jobs):
            return list(jobs)
        assert time.monotonic() < deadline, jobs
        time.sleep(0.2)


@pytest.mark.slow
def test_sync_status_retry_and_requeue_through_the_cli(tmp_path: Path) -> None:
    nas, local = write_nas_settings(tmp_path)
    server = subprocess.Popen([*EXE, "serve"], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith(READY_PREFIX), line
        url = line[len(READY_PREFIX) :].strip()

        made = cli("new", "project", "-e", "DEMO", "-p", "Alpha", "-o", "ana", "--watch")
        assert made.returncode == 0, made.stderr
        [job] = wait_for_jobs(1, "synced")
        target = nas / "DEMO" / "Alpha"
        assert (
            job["target"] == str(target) and (target / ".exlab-wizard/checksums.sha256").is_file()
        )
        text = cli("sync")
        assert text.returncode == 0 and "NAS sync: 1 folder synced" in text.stdout
        with urllib.request.urlopen(f"{url}/api/v1/health", timeout=10) as response:
            health = json.load(response)
        assert health["sync"]["synced"] == 1 and health["sync"]["failed"] == 0

        # The NAS goes away: the next folder waits, and says why, in words.
        nas.rename(tmp_path / "nas-away")
        made = cli("new", "project", "-e", "DEMO", "-p", "Beta", "-o", "ana", "--watch")
        assert made.returncode == 0, made.stderr
        jobs = wait_for_jobs(2, "synced", "waiting")
        [waiting] = [j for j in jobs if j["status"] == "waiting"]
        assert waiting["reason"]["code"] == "not_reachable"
        shown = cli("sync")
        assert "1 folder waiting for the NAS: not reachable since" in shown.stdout
        assert "is not there" in shown.stdout and "next try" in shown.stdout
        assert not nas.exists()  # the root was not created
        (tmp_path / "nas-away").rename(nas)
        retried = cli("sync", "--retry", waiting["id"])
        assert retried.returncode == 0, retried.stderr
        wait_for_jobs(2, "synced")
        assert (nas / "DEMO" / "Beta" / ".exlab-wizard/creation.json").is_file()

        # A folder that fails the naming rules is not queued again until it is fixed.
        folder = local / "DEMO" / "Alpha"
        (folder / "bad:name.txt").write_text("x")
        refused = cli("sync", "--requeue", str(folder))
        assert refused.returncode == 2  # refused (validation_failed): the CLI's exit 2
        assert "Still blocked" in refused.stderr and "bad:name.txt" in refused.stderr
        (folder / "bad:name.txt").unlink()
        requeued = cli("sync", "--requeue", str(folder), "--json")
        assert requeued.returncode == 0, requeued.stderr
        wait_for_jobs(3, "synced")

        unknown = cli("sync", "--retry", "nope")
        assert unknown.returncode == 1 and "sync_job_not_found" in unknown.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
        if server.stdout is not None:
            server.stdout.close()
