"""The network coming back retries the jobs waiting for a NAS they could not reach, at
once and not on the schedule: a real address appears (``ip``, as root) where an SSH
NAS was unreachable, and the kernel's netlink announcement wakes the queue."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sync_helpers import QueueFactory, make_folder, needs_root, plan, sample_files, wait_for
from sync_sshd import start_sshd

from tray_app.creation.sync import Code, JobStatus, SyncOptions, Transport

pytestmark = needs_root

#: TEST-NET-1 (RFC 5737): never anyone's real address.
NAS_ADDRESS = "192.0.2.55"


def ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True)


@pytest.fixture
def away_address() -> Iterator[str]:
    """An address with no route (connecting fails at once) that a test may bring up."""
    made = subprocess.run(
        ["ip", "route", "add", "unreachable", f"{NAS_ADDRESS}/32"],
        check=False,
        capture_output=True,
        text=True,
    )
    if "Operation not permitted" in made.stderr:  # root without CAP_NET_ADMIN (a container)
        pytest.skip("changing the network needs CAP_NET_ADMIN")
    made.check_returncode()
    try:
        yield NAS_ADDRESS
    finally:
        ip("route", "del", "unreachable", f"{NAS_ADDRESS}/32", check=False)
        ip("addr", "del", f"{NAS_ADDRESS}/32", "dev", "lo", check=False)


async def test_the_network_coming_back_retries_a_waiting_remote_job_at_once(
    tmp_path: Path, make_queue: QueueFactory, away_address: str
) -> None:
    server = start_sshd(tmp_path / "sshd", also_as=away_address)
    try:
        options = SyncOptions(
            ssh_port=server.port, ssh_identity=server.identity, ssh_known_hosts=server.known_hosts
        )
        (tmp_path / "nas").mkdir()
        folder = make_folder(tmp_path / "L", "EQ/Run_1", sample_files())
        queue = await make_queue(options)
        root = f"root@{away_address}:{tmp_path / 'nas'}"
        job = await queue.enqueue(folder, plan(root, Transport.RSYNC), "EQ/Run_1")
        await wait_for(queue, lambda: job.status is JobStatus.WAITING)
        assert job.reason is not None and job.reason.code == Code.NOT_REACHABLE, job.reason
        # The fake clock never reaches the next attempt: only the network can bring it.
        ip("route", "del", "unreachable", f"{away_address}/32")
        ip("addr", "add", f"{away_address}/32", "dev", "lo")
        await wait_for(queue, lambda: job.status is JobStatus.SYNCED)
        assert job.attempts == 2
        assert (tmp_path / "nas/EQ/Run_1/raw/data_0.csv").is_file()
    finally:
        server.stop()
