"""The tray follows the NAS sync queue: a real queue (real files, a NAS folder that is
missing, then there), the tray's sync line and icon, Retry now from the menu, the details
dialog's "NAS sync" row, and one notice once folders have waited for over an hour."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.qt.loop_helpers import run, wait_until
from tests.qt.tray_fixtures import done, loaded_settings
from tests.support.clock import FakeClock
from tray_app.creation.controller import CreationController
from tray_app.creation.record import write_record
from tray_app.creation.sync import JobStatus, SyncPlan, Transport
from tray_app.sessions.store import SessionStore
from tray_app.ui.details_dialog import DetailsDialog
from tray_app.ui.menu_model import Command, IconState
from tray_app.ui.notification_policy import EventKind, SessionEvent
from tray_app.ui.session_actions import SessionActions
from tray_app.ui.sync_watch import SyncWatch
from tray_app.ui.tray import Tray, find_action


def finished_folder(root: Path, name: str) -> Path:
    from tests.unit.sync.sync_helpers import make_folder, sample_files

    return make_folder(root, f"DEMO/{name}", sample_files())


def test_tray_shows_waiting_folders_retries_them_and_notifies_once_after_an_hour(
    tray_loop: asyncio.AbstractEventLoop,
    tray_store: SessionStore,
    tray_clock: FakeClock,
    tmp_path: Path,
) -> None:
    nas = tmp_path / "nas"
    settings = loaded_settings(tmp_path, nas_root=str(nas)).settings
    controller = CreationController(tray_store, settings)
    queue = run(tray_loop, controller.open_sync_queue())
    notices: list[SessionEvent] = []
    watch = SyncWatch(controller, notices.append, tray_store.clock)
    tray = Tray(tray_store)
    watch.changed.connect(lambda summary: tray.set_flags(sync=summary))

    def dispatch(action: object) -> None:
        if getattr(action, "command", None) is Command.RETRY_SYNC:
            watch.retry_all()

    tray.action_triggered.connect(dispatch)
    session = done(tray_store, "Project Alpha", str(tmp_path / "ExLab/DEMO/Alpha"))
    folder = finished_folder(tmp_path / "ExLab", "Alpha")
    plan = SyncPlan(str(nas), Transport.COPY, require_mount=False)
    job = run(tray_loop, queue.enqueue(folder, plan, "DEMO/Alpha", session_id=session.session_id))
    # The tray hears of it through the controller's observer (after the queue's commit).
    wait_until(tray_loop, lambda: tray.model.icon_state is IconState.SYNC_PROBLEM)
    assert queue.get(job.id).status is JobStatus.WAITING  # type: ignore[union-attr]
    line = find_action(tray.menu, "⚠ 1 folder waiting for the NAS: not reachable since")
    assert line is not None
    dialog = DetailsDialog(SessionActions(tray_store, controller, settings), session.session_id)
    row = dialog.values["NAS sync"].text()
    assert row.startswith("Waiting: not reachable (The NAS folder") and "(attempt 2)" in row
    assert notices == []  # not an hour yet

    # An hour later the one notice goes out, and only one.
    tray_clock.advance(minutes=61)
    watch.check_overdue()
    watch.check_overdue()
    assert [(n.kind, n.title) for n in notices] == [
        (EventKind.SYNC_PROBLEM, "1 folder not on the NAS for over an hour")
    ]
    assert "is not there" in notices[0].detail

    # The NAS is back; Retry now from the menu copies it; the icon calms down.
    nas.mkdir()
    retry = find_action(tray.menu, "Retry now")
    assert retry is not None
    retry.trigger()
    wait_until(
        tray_loop,
        lambda: tray.flags.sync is not None and tray.flags.sync.synced == 1,
    )
    wait_until(tray_loop, lambda: tray.model.icon_state is IconState.IDLE)
    assert queue.get(job.id).status is JobStatus.SYNCED  # type: ignore[union-attr]
    assert find_action(tray.menu, "⚠ 1 folder waiting") is None
    dialog.refresh()
    assert dialog.values["NAS sync"].text().startswith(f"Synced to {nas}/DEMO/Alpha at ")
    assert "(4 files, checked)" in dialog.values["NAS sync"].text()
    dialog.close()
    tray.close()
    run(tray_loop, controller.aclose())


def test_requeue_of_a_blocked_folder_from_the_menu_checks_it_again(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore, tmp_path: Path
) -> None:
    import msgspec

    from tray_app.creation.record import read_record

    nas = tmp_path / "nas"
    nas.mkdir()
    settings = loaded_settings(tmp_path, nas_root=str(nas)).settings
    controller = CreationController(tray_store, settings)
    refusals: list[tuple[str, str]] = []
    watch = SyncWatch(controller, lambda _e: None, tray_store.clock)
    watch.failed.connect(lambda title, body: refusals.append((title, body)))
    folder = finished_folder(tmp_path / "ExLab", "Beta")
    record = read_record(folder)
    write_record(folder, msgspec.structs.replace(record, sync_status="blocked_by_validation"))
    (folder / "bad?name.csv").write_text("x")
    watch.requeue(str(folder))
    wait_until(tray_loop, lambda: bool(refusals))
    assert refusals[0][0] == "The folder was not queued for the NAS"
    assert "Still blocked" in refusals[0][1] and "bad?name.csv" in refusals[0][1]
    (folder / "bad?name.csv").unlink()
    watch.requeue(str(folder))
    wait_until(tray_loop, lambda: read_record(folder).sync_status == "synced")
    assert (nas / "DEMO" / "Beta" / "raw" / "data_0.csv").is_file()
    run(tray_loop, controller.aclose())
