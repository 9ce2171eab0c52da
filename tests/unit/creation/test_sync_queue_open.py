"""The controller's NAS sync queue, opened on first use: sessions restored behind their
jobs catch up once the queue opens, even when the first try to open it failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.clock import FakeClock
from tests.support.sessions import done
from tray_app import paths
from tray_app.creation.controller import CreationController
from tray_app.creation.sync import JobStatus, SyncJob
from tray_app.creation.sync.db import QueueDB
from tray_app.creation.sync.queue import DB_NAME
from tray_app.sessions.store import SessionStore


def done_behind_its_job(store: SessionStore, clock: FakeClock, folder: Path) -> str:
    """A session that ended saying "queued" while its job, in the queue's file, is
    synced already (a stop between the job's commit and the journal's)."""
    sid = done(store, "Caught", destination=str(folder)).session_id
    job = SyncJob(
        id="job-1",
        source=str(folder),
        root=str(folder.parent / "nas"),
        relative="DEMO/Caught",
        session_id=sid,
        equipment_id="DEMO",
        status=JobStatus.SYNCED,
        queued_at=clock(),
        finished_at=clock(),
        files=1,
        bytes=6,
    )
    db = QueueDB(paths.state_dir() / DB_NAME)
    try:
        db.put([job])
    finally:
        db.close()
    return sid


async def test_a_first_open_that_fails_does_not_skip_the_catch_up(
    controller: CreationController, store: SessionStore, clock: FakeClock, tmp_path: Path
) -> None:
    sid = done_behind_its_job(store, clock, tmp_path / "ExLab" / "DEMO" / "Caught")
    # The state folder is a file for the first try (a damaged folder): opening fails.
    state = paths.state_dir()
    aside = state.with_name("state-aside")
    state.rename(aside)
    state.write_text("not a folder")
    with pytest.raises(OSError):
        await controller.open_sync_queue()
    assert store.handle(sid)["result"]["sync_status"] == "queued"
    state.unlink()
    aside.rename(state)
    queue = await controller.open_sync_queue()
    assert [job.id for job in queue.jobs()] == ["job-1"]
    result = store.handle(sid)["result"]
    assert result["sync_status"] == "synced"
    assert result["sync"]["files"] == 1


async def test_the_first_open_catches_up(
    controller: CreationController, store: SessionStore, clock: FakeClock, tmp_path: Path
) -> None:
    sid = done_behind_its_job(store, clock, tmp_path / "ExLab" / "DEMO" / "Caught")
    await controller.open_sync_queue()
    assert store.handle(sid)["result"]["sync_status"] == "synced"
