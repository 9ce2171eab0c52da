"""The session journal on real SQLite files: what it keeps, what it gives back on the
next start, retention, the durable point, and damaged, locked, newer and older files."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.clock import FakeClock
from tray_app.sessions import (
    Phase,
    Retention,
    SessionKind,
    SessionState,
    SessionStore,
)
from tray_app.sessions.journal import Journal, JournalUnavailable
from tray_app.sessions.journal_db import COLUMNS, MIGRATIONS, SCHEMA_VERSION, migrate

S = SessionState
PROMPT = {
    "plugin": "plate_map",
    "reason": "Which plate?",
    "fields": [{"id": "plate", "label": "Plate", "type": "string", "required": True}],
    "attempt": 2,
    "answers": {"rows": 8},
}
REQUEST = {"kind": "run", "equipment_id": "TECAN", "project_name": "P", "label": "L1"}


async def started(path: Path, clock: FakeClock, retention: Retention | None = None):
    """A store restored from the journal at ``path`` and followed by it, as the app starts."""
    retention = retention or Retention()
    store = SessionStore(clock=clock, retention=retention)
    journal = Journal(path, clock=clock)
    loaded = await journal.open(retention)
    store.restore(loaded.sessions)
    journal.attach(store)
    return store, journal, loaded


def open_run(store: SessionStore, title: str = "Run L1"):
    return store.open(SessionKind.RUN, REQUEST, destination=f"/data/{title}", title=title)


def walk(store: SessionStore, session_id: str, *states: SessionState) -> None:
    for state in states:
        store.transition(session_id, state)


async def test_sessions_come_back_as_they_were(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "journal.sqlite3"
    store, journal, loaded = await started(path, clock)
    assert loaded.sessions == [] and journal.problems == []  # first start, no file

    done = open_run(store, "done")
    walk(store, done.session_id, S.VALIDATING, S.RENDERING, S.PLUGIN_PASS, S.CACHE_WRITE)
    walk(store, done.session_id, S.POST_VALIDATE, S.SYNC_QUEUED)
    store.warn(done.session_id, "plugin x: skipped")
    store.transition(done.session_id, S.DONE, outcome={"path": "/data/done", "sync": "q"})

    clock.advance(seconds=1)
    waiting = open_run(store, "waiting")
    walk(store, waiting.session_id, S.VALIDATING, S.RENDERING, S.PLUGIN_PASS)
    store.checkpoint(waiting.session_id, {"plugins": [{"name": "a", "status": "ok"}]})
    store.await_input(waiting.session_id, PROMPT)
    clock.advance(minutes=5)
    store.heartbeat(waiting.session_id)

    clock.advance(seconds=1)
    rendering = open_run(store, "rendering")
    walk(store, rendering.session_id, S.VALIDATING, S.RENDERING)

    clock.advance(seconds=1)
    failed = open_run(store, "failed")
    store.transition(failed.session_id, S.VALIDATING)
    store.transition(failed.session_id, S.FAILED, outcome={"code": "validation_failed"})
    await journal.durable()
    await journal.close()

    store2, journal2, loaded2 = await started(path, clock)
    back = {s.title: s for s in loaded2.sessions}
    assert set(back) == {"done", "waiting", "rendering", "failed"}
    assert back["done"].state is S.DONE
    assert back["done"].result == {"path": "/data/done", "sync": "q"}
    assert back["done"].warnings == ["plugin x: skipped"]
    assert back["done"].finished_at == done.finished_at
    assert back["failed"].error == {"code": "validation_failed"}
    assert back["failed"].ended_in_phase is Phase.VALIDATING_INPUTS
    w = back["waiting"]
    assert w.state is S.INPUT_REQUIRED and w.pending_input == PROMPT
    assert w.checkpoint == {"plugins": [{"name": "a", "status": "ok"}]}
    assert w.last_heartbeat == waiting.last_heartbeat and w.input_since == waiting.input_since
    assert w.request == REQUEST and w.destination == "/data/waiting"
    assert back["rendering"].state is S.RENDERING
    assert back["rendering"].current_phase is Phase.RENDERING_TEMPLATE
    # In the store, as they were: counts, the waiting index, order (newest first).
    assert store2.waiting_count == 1 and store2.live_count == 2 and store2.finished_count == 2
    assert next(s.title for s in store2.sessions()) == "failed"
    await journal2.close()


async def test_a_restored_waiting_session_is_abandoned_from_its_last_heartbeat(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "journal.sqlite3"
    store, journal, _ = await started(path, clock)
    waiting = open_run(store)
    walk(store, waiting.session_id, S.VALIDATING, S.RENDERING, S.PLUGIN_PASS)
    store.await_input(waiting.session_id, PROMPT)
    await journal.close()

    clock.advance(minutes=50)  # the tray was down for 50 minutes
    store2, journal2, _ = await started(path, clock)
    assert store2.gc_once().abandoned == []
    clock.advance(minutes=11)
    assert store2.gc_once().abandoned == [waiting.session_id]
    await journal2.durable()
    await journal2.close()
    _, journal3, loaded = await started(path, clock)
    assert [s.state for s in loaded.sessions] == [S.ABORTED]
    assert loaded.sessions[0].result["code"] == "session_abandoned"
    await journal3.close()


async def test_one_transaction_per_loop_turn(tmp_path: Path, clock: FakeClock) -> None:
    store, journal, _ = await started(tmp_path / "j.sqlite3", clock)
    # Opening hands the writer a retention prune of its own; on a loaded machine it
    # may commit apart from what follows, so count from after it.
    await journal.durable()
    before = (journal.commits, journal.rows_written)
    for _ in range(50):
        s = open_run(store)
        walk(store, s.session_id, S.VALIDATING, S.RENDERING, S.PLUGIN_PASS, S.CACHE_WRITE)
    await journal.durable()
    # 50 sessions, 250 changes, one loop turn: one transaction of 50 rows.
    assert (journal.commits - before[0], journal.rows_written - before[1]) == (1, 50)
    await journal.close()


async def test_durable_waits_for_the_commit_of_a_new_session(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "j.sqlite3"
    store, journal, _ = await started(path, clock)
    session = open_run(store)
    await journal.durable()
    # Another connection sees the row now, while the journal is still open.
    with sqlite3.connect(path) as other:
        rows = other.execute("SELECT session_id, state FROM sessions").fetchall()
    assert rows == [(session.session_id, "pending")]
    await journal.durable()  # nothing new: returns at once
    await journal.close()


async def test_absent_values_are_stored_as_null(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "j.sqlite3"
    store, journal, _ = await started(path, clock)
    session = store.open(SessionKind.PROJECT, REQUEST, title="No folder yet")
    walk(store, session.session_id, S.VALIDATING, S.RENDERING)
    await journal.durable()
    nullable = [c for c in COLUMNS if c not in {"session_id", "kind", "title", "state"}]
    types = ", ".join(f"typeof({c})" for c in nullable)
    with sqlite3.connect(path) as other:
        live = dict(
            zip(nullable, other.execute(f"SELECT {types} FROM sessions").fetchone(), strict=True)
        )
    assert live == {
        **dict.fromkeys(nullable, "null"),
        "request": "text",
        "phase": "text",
        "created_at": "real",
        "last_heartbeat": "real",
    }
    store.transition(session.session_id, S.FAILED, outcome={"code": "render_failed"})
    await journal.durable()
    with sqlite3.connect(path) as other:
        ended = dict(
            zip(nullable, other.execute(f"SELECT {types} FROM sessions").fetchone(), strict=True)
        )
    assert (ended["outcome"], ended["finished_at"], ended["ended_in_phase"]) == (
        "text",
        "real",
        "text",
    )
    assert ended["phase"] == ended["pending_input"] == ended["destination"] == "null"
    await journal.close()


async def committed(journal: Journal, before: int) -> None:
    """Wait (a bounded while) for the writer's next commit after ``before`` commits."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while journal.commits <= before:
        if loop.time() > deadline:
            raise AssertionError("no commit within 30 s")
        await asyncio.sleep(0.005)


async def test_a_prompt_and_a_failure_go_at_the_end_of_their_loop_turn(
    tmp_path: Path, clock: FakeClock
) -> None:
    # A window far longer than the test: only the end of a loop turn can bring these in.
    path = tmp_path / "j.sqlite3"
    store = SessionStore(clock=clock)
    journal = Journal(path, clock=clock, flush_after_s=3600)
    store.restore((await journal.open(store.retention)).sessions)
    journal.attach(store)
    await journal.durable()
    waiting, failing = open_run(store, "waiting"), open_run(store, "failing")
    await journal.durable()  # both committed, as before a 201

    walk(store, waiting.session_id, S.VALIDATING, S.RENDERING, S.PLUGIN_PASS)
    before = journal.commits
    store.await_input(waiting.session_id, PROMPT)
    await committed(journal, before)
    with sqlite3.connect(path) as other:
        row = other.execute(
            "SELECT state, pending_input FROM sessions WHERE session_id = ?",
            (waiting.session_id,),
        ).fetchone()
    assert row[0] == "input_required" and '"Which plate?"' in row[1]

    before = journal.commits
    store.transition(failing.session_id, S.VALIDATING)
    store.transition(failing.session_id, S.FAILED, outcome={"code": "validation_failed"})
    await committed(journal, before)
    with sqlite3.connect(path) as other:
        row = other.execute(
            "SELECT state, outcome FROM sessions WHERE session_id = ?", (failing.session_id,)
        ).fetchone()
    assert row == ("failed", '{"code":"validation_failed"}')
    await journal.close()


async def test_retention_bounds_the_journal(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "j.sqlite3"
    retention = Retention(max_finished=20, max_age=timedelta(hours=1))
    store, journal, _ = await started(path, clock, retention)
    for _ in range(300):
        s = open_run(store)
        store.transition(s.session_id, S.ABORTED, outcome={"code": "cancelled"})
        clock.advance(seconds=1)
        await asyncio.sleep(0)  # a loop turn between sessions, as in the app
    await journal.durable()
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT count(*) FROM sessions").fetchone() == (20,)
    await journal.close()


async def test_rows_past_retention_are_not_loaded_and_are_pruned(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "j.sqlite3"
    store, journal, _ = await started(path, clock, Retention(max_finished=100))
    for _ in range(30):
        s = open_run(store)
        store.transition(s.session_id, S.ABORTED, outcome={"code": "cancelled"})
        clock.advance(minutes=10)
    await journal.close()
    # Next start: at most 10 kept, none older than an hour.
    retention = Retention(max_finished=10, max_age=timedelta(hours=1))
    _, journal2, loaded = await started(path, clock, retention)
    assert len(loaded.sessions) == 6  # 10-minute steps within the last hour
    await journal2.durable()
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT count(*) FROM sessions").fetchone() == (6,)
    await journal2.close()


def read_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


def damage(path: Path, how: str) -> None:
    if how == "garbage":
        path.write_bytes(b"this is not a database at all\n" * 300)
    elif how == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    elif how == "empty-header":
        path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 84)


@pytest.mark.parametrize("how", ["garbage", "truncated", "empty-header"])
async def test_a_damaged_file_is_moved_aside_and_a_fresh_one_started(
    tmp_path: Path, clock: FakeClock, how: str
) -> None:
    path = tmp_path / "journal.sqlite3"
    store, journal, _ = await started(path, clock)
    for _ in range(400):  # enough rows for several pages, so truncation cuts into them
        s = open_run(store, "x" * 200)
        store.transition(s.session_id, S.VALIDATING)
    await journal.close()
    damage(path, how)
    original = path.read_bytes()

    store2, journal2, loaded = await started(path, clock)
    [problem] = journal2.problems
    assert problem.code == "journal_damaged"
    assert "moved to" in problem.message and problem.moved_to is not None
    assert read_bytes(problem.moved_to) == original  # kept for a look, not lost
    assert loaded.sessions == [] and store2.live_count == 0
    # The fresh journal works.
    fresh = open_run(store2)
    await journal2.durable()
    await journal2.close()
    _, journal3, loaded3 = await started(path, clock)
    assert [s.session_id for s in loaded3.sessions] == [fresh.session_id]
    assert journal3.problems == []
    await journal3.close()


async def test_a_file_locked_by_another_process(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "journal.sqlite3"
    _, journal, _ = await started(path, clock)
    await journal.close()
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sqlite3,sys; c=sqlite3.connect(sys.argv[1], isolation_level=None);"
        "c.execute('PRAGMA locking_mode=EXCLUSIVE'); c.execute('BEGIN EXCLUSIVE');"
        "print('locked', flush=True); sys.stdin.read()",
        str(path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and await holder.stdout.readline() == b"locked\n"
        store, journal2, _ = await started(path, clock)
        [problem] = journal2.problems
        assert problem.code == "journal_locked" and "locked by another program" in problem.message
        session = open_run(store)
        await journal2.durable()  # the fresh journal takes writes
        await journal2.close()
    finally:
        await holder.communicate(b"")
    _, journal3, loaded = await started(path, clock)
    assert [s.session_id for s in loaded.sessions] == [session.session_id]
    await journal3.close()


async def test_a_file_from_a_newer_version_is_kept_aside(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "journal.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    _, journal, _ = await started(path, clock)
    [problem] = journal.problems
    assert problem.code == "journal_newer" and "newer version" in problem.message
    await journal.close()


async def test_a_file_of_the_previous_schema_is_migrated(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "journal.sqlite3"
    previous = SCHEMA_VERSION - 1
    old_columns = [c for c in COLUMNS if c != "checkpoint"]
    with sqlite3.connect(path, isolation_level=None) as conn:
        migrate(conn, previous)
        row = {
            "session_id": "old-1",
            "kind": "run",
            "title": "Old run",
            "request": '{"kind":"run"}',
            "destination": "/data/old",
            "state": "input_required",
            "phase": "input_required",
            "ended_in_phase": None,
            "outcome": None,
            "pending_input": '{"plugin":"plate_map","fields":[],"attempt":1}',
            "warnings": None,
            "created_at": clock().timestamp(),
            "last_heartbeat": clock().timestamp(),
            "input_since": clock().timestamp(),
            "finished_at": None,
        }
        conn.execute(
            f"INSERT INTO sessions ({', '.join(old_columns)}) "
            f"VALUES ({', '.join('?' * len(old_columns))})",
            [row[c] for c in old_columns],
        )
    assert len(MIGRATIONS) == SCHEMA_VERSION
    store, journal, loaded = await started(path, clock)
    assert journal.problems == []
    [old] = loaded.sessions
    assert old.session_id == "old-1" and old.state is S.INPUT_REQUIRED
    assert old.checkpoint is None and store.waiting_count == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    await journal.close()


async def test_unreadable_rows_are_left_out_and_reported(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "journal.sqlite3"
    store, journal, _ = await started(path, clock)
    good = open_run(store)
    bad = open_run(store)
    await journal.close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE sessions SET state='exploded' WHERE session_id=?", (bad.session_id,))
    _, journal2, loaded = await started(path, clock)
    assert [s.session_id for s in loaded.sessions] == [good.session_id]
    [problem] = journal2.problems
    assert problem.code == "journal_rows_unreadable" and bad.session_id in problem.message
    await journal2.close()


async def test_a_failed_commit_is_reported_and_retried(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "journal.sqlite3"
    seen = []
    store = SessionStore(clock=clock)
    journal = Journal(path, clock=clock, on_problem=seen.append)
    store.restore((await journal.open(Retention())).sessions)
    journal.attach(store)
    # Another connection holds the write lock longer than the busy timeout.
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    first = open_run(store)
    with pytest.raises(JournalUnavailable) as refused:
        await journal.durable()
    assert refused.value.problem.code == "journal_unwritable"
    assert [p.code for p in journal.problems] == ["journal_unwritable"]
    blocker.execute("ROLLBACK")
    blocker.close()
    second = open_run(store)
    await journal.durable()  # the retry carries the first row too
    await asyncio.sleep(0)  # the recovery notice is delivered on the next turn
    assert journal.problems == [] and seen[-1] is None and seen[0] is not None
    await journal.close()
    _, journal2, loaded = await started(path, clock)
    assert {s.session_id for s in loaded.sessions} == {first.session_id, second.session_id}
    await journal2.close()


async def test_no_journal_at_all_does_not_stop_the_store(tmp_path: Path, clock: FakeClock) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the state folder should be")
    store, journal, loaded = await started(blocked / "journal.sqlite3", clock)
    assert loaded.sessions == [] and not journal.enabled
    assert [p.code for p in journal.problems] == ["journal_unwritable"]
    open_run(store)
    await journal.durable()  # nothing to wait for
    await journal.close()


async def test_restored_sessions_evicted_later_leave_the_file(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "journal.sqlite3"
    retention = Retention(max_finished=5)
    store, journal, _ = await started(path, clock, retention)
    old = []
    for _ in range(5):
        s = open_run(store)
        store.transition(s.session_id, S.ABORTED, outcome={"code": "cancelled"})
        old.append(s.session_id)
    await journal.close()
    store2, journal2, loaded = await started(path, clock, retention)
    assert [s.session_id for s in loaded.sessions] == old
    clock.advance(seconds=1)
    new = []
    for _ in range(5):
        s = open_run(store2)
        store2.transition(s.session_id, S.ABORTED, outcome={"code": "cancelled"})
        new.append(s.session_id)
    await journal2.durable()
    with sqlite3.connect(path) as other:
        ids = {row[0] for row in other.execute("SELECT session_id FROM sessions")}
    assert ids == set(new)
    await journal2.close()
