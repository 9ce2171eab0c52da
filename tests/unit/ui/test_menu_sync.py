"""The menu's NAS sync line, its Retry now, the sync-problem icon and "Queue for NAS sync
again" on a folder whose sync post-validation blocked (pure: no Qt)."""

from __future__ import annotations

from tests.support.clock import FakeClock
from tests.support.sessions import done, failed
from tray_app.creation.sync import Code, JobStatus, Reason, SyncJob, summarize
from tray_app.sessions.states import SessionKind, SessionState
from tray_app.sessions.store import SessionStore
from tray_app.ui.menu_model import Action, Command, IconState, MenuFlags, build_menu


def job(clock: FakeClock, status: JobStatus, **extra: object) -> SyncJob:
    return SyncJob(
        id=f"j{status.value}",
        source="/local/EQ/P",
        root="/mnt/nas",
        relative="EQ/P",
        status=status,
        queued_at=clock(),
        **extra,  # type: ignore[arg-type]
    )


def test_folders_waiting_for_the_nas_show_a_line_with_retry_now_and_the_icon(
    store: SessionStore, clock: FakeClock
) -> None:
    since = clock.now
    reason = Reason(Code.NOT_REACHABLE, "The NAS folder /mnt/nas is not there (not mounted?).")
    jobs = [job(clock, JobStatus.WAITING, waiting_since=since, reason=reason) for _ in range(3)] + [
        job(clock, JobStatus.SYNCED)
    ]
    model = build_menu(store.sessions(), clock(), MenuFlags(sync=summarize(jobs)))
    [line] = [e for e in model.sections[0].entries if "NAS" in e.label]
    local = since.astimezone().strftime("%H:%M")
    assert line.label == f"⚠ 3 folders waiting for the NAS: not reachable since {local}"
    assert [c.label for c in line.children] == [reason.message, "Retry now"]
    assert line.children[1].action == Action(Command.RETRY_SYNC)
    assert model.icon_state is IconState.SYNC_PROBLEM


def test_a_copy_in_progress_is_a_plain_line_and_all_synced_shows_none(
    store: SessionStore, clock: FakeClock
) -> None:
    copying = build_menu((), clock(), MenuFlags(sync=summarize([job(clock, JobStatus.COPYING)])))
    [line] = [e for e in copying.sections[0].entries if "NAS" in e.label]
    assert line.label == "Copying 1 folder to the NAS" and not line.enabled
    assert copying.icon_state is IconState.IDLE
    calm = build_menu((), clock(), MenuFlags(sync=summarize([job(clock, JobStatus.SYNCED)])))
    assert not [e for e in calm.sections[0].entries if "NAS" in e.label]


def test_an_unseen_failed_session_outranks_a_sync_problem(
    store: SessionStore, clock: FakeClock
) -> None:
    broken = failed(store)
    sync = summarize([job(clock, JobStatus.FAILED, reason=Reason(Code.AUTH_REFUSED, "x", False))])
    flags = MenuFlags(sync=sync, unseen_failures=frozenset({broken.session_id}))
    assert build_menu(store.sessions(), clock(), flags).icon_state is IconState.FAILED_UNSEEN
    seen = build_menu(store.sessions(), clock(), MenuFlags(sync=sync))
    assert seen.icon_state is IconState.SYNC_PROBLEM
    [line] = [e for e in seen.sections[0].entries if "NAS" in e.label]
    assert line.label == "⚠ 1 folder could not be synced to the NAS (refusing the login)"


def test_a_blocked_folder_offers_queue_for_nas_sync_again(
    store: SessionStore, clock: FakeClock
) -> None:
    session = store.open(SessionKind.RUN, {"project_name": "Alpha"}, title="Run 1 of Alpha")
    for state in list(SessionState)[1:8]:  # VALIDATING ... SYNC_QUEUED
        if state is not SessionState.INPUT_REQUIRED:
            store.transition(session.session_id, state)
    outcome = {"path": "/x", "sync_status": "blocked_by_validation", "warnings": []}
    store.transition(session.session_id, SessionState.DONE, outcome=outcome)
    done(store)  # a folder that synced as usual offers no such entry
    model = build_menu(store.sessions(), clock(), MenuFlags())
    finished = [e for sec in model.sections for e in sec.entries if e.label.startswith("✓")]
    assert [e.label for e in finished] == [
        "✓ Project Alpha: done",
        "✓ Run 1 of Alpha: done, sync blocked",
    ]
    again = finished[1].children[-1]
    assert again.label == "Queue for NAS sync again"
    assert again.action == Action(Command.REQUEUE_SYNC, session.session_id)
