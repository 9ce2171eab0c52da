"""Fixtures for the NAS sync tests: folders with a real creation record, queues on a fake
clock, a real sshd, and mounted filesystems (tmpfs, bind mounts: these need root, as CI has)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sync_helpers import IS_ROOT, Mounts, QueueFactory
from sync_sshd import Sshd, start_sshd

from tests.support.clock import FakeClock
from tray_app.creation.sync import SyncOptions, SyncQueue


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    if not IS_ROOT:
        pytest.skip("the test sshd logs in as root (CI runs as root)")
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture
def ssh_options(sshd: Sshd) -> SyncOptions:
    return SyncOptions(
        ssh_port=sshd.port,
        ssh_identity=sshd.identity,
        ssh_known_hosts=sshd.known_hosts,
        ssh_control_dir=sshd.folder,
    )


@pytest.fixture
def mounts() -> Iterator[Mounts]:
    if not IS_ROOT:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    helper = Mounts()
    yield helper
    helper.undo()


@pytest.fixture
async def make_queue(tmp_path: Path, clock: FakeClock) -> AsyncIterator[QueueFactory]:
    """Opened queues on the fake clock with no jitter; all closed after the test."""
    made: list[SyncQueue] = []

    async def make(options: SyncOptions | None = None, **kwargs: object) -> SyncQueue:
        kwargs.setdefault("db_path", tmp_path / "state" / "sync.sqlite3")
        queue = SyncQueue(options=options, clock=clock, draw=lambda: 0.5, **kwargs)  # type: ignore[arg-type]
        await queue.open()
        made.append(queue)
        return queue

    yield make
    for queue in made:
        await queue.aclose(grace_s=0)
