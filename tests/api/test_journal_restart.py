"""Sessions survive ``kill -9`` of a real ``exlab-tray serve``: after each restart every
session that got a 201 is finished, waiting or interrupted with its folder, and no
claimed folder is left that no session explains. Also a waiting run answered after a
restart, and the journal file damaged, missing, or of the previous schema."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.api.serve_process import EXE, Serve
from tray_app import paths
from tray_app.api.service import JOURNAL_NAME
from tray_app.config import default_settings
from tray_app.creation.record import RECORD_DIR, read_record
from tray_app.sessions.journal_db import COLUMNS, SCHEMA_VERSION, migrate

pytestmark = pytest.mark.slow

PREP = "2026-01-05"
FULL_PLATE = {"sample_count": 8, "plate_type": "96-well", "prep_date": PREP}


def project(name: str) -> dict[str, Any]:
    return {"kind": "project", "equipment_id": "DEMO", "project_name": name, "operator": "ana"}


def run(label: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = {"kind": "run", "equipment_id": "DEMO", "project_name": "Base", "operator": "ana"}
    return {**body, "label": label, "variables": variables or {}}


def data_root() -> Path:
    """Where the default settings create folders (serve runs on them here)."""
    return default_settings().local_root_path()


def claimed_folders(root: Path) -> set[str]:
    """Every folder ExLab claimed (it has .exlab-wizard/), at the depths ExLab makes."""
    patterns = ["*/*", "*/*/Runs/*", "*/*/TestRuns/*"]
    return {str(p.parent) for pattern in patterns for p in root.glob(f"{pattern}/{RECORD_DIR}")}


def has_record(folder: str) -> bool:
    try:
        read_record(Path(folder))
    except Exception:
        return False
    return True


def check_accounted(server: Serve, accepted: set[str]) -> dict[str, dict[str, Any]]:
    """Every 201'd session is here and settled; every claimed folder is explained."""
    server.wait_for_folder_scan()
    sessions = server.sessions()
    missing = accepted - sessions.keys()
    assert not missing, f"accepted sessions forgotten: {missing}"
    explained: set[str] = set()
    for handle in sessions.values():
        state = handle["state"]
        assert state in {"done", "input_required", "aborted", "failed"}, handle
        outcome = handle["result"] or handle["error"] or {}
        if handle["destination"]:
            explained.add(handle["destination"])
        if state == "done":
            assert has_record(outcome["path"]), handle
        elif state == "failed":
            assert not handle["destination"] or not has_record(handle["destination"]), handle
        elif state == "aborted" and outcome.get("code") == "interrupted":
            # The folder it names is there (none is named when it stopped before claiming).
            assert outcome["path"] is None or Path(outcome["path"]).is_dir(), handle
            assert outcome["path"] is None or not has_record(outcome["path"]), handle
    claimed = claimed_folders(data_root())
    assert claimed, "no folder found to check: the scan of this test looks in the wrong place"
    unexplained = {f for f in claimed if not has_record(f) and f not in explained}
    assert not unexplained, f"folders nobody explains: {unexplained}"
    return sessions


def post_in_background(server: Serve, bodies: list[dict], accepted: set[str]) -> threading.Thread:
    def post_all() -> None:
        threads = [threading.Thread(target=post_one, args=(b,)) for b in bodies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def post_one(body: dict) -> None:
        try:
            status, handle = server.call("POST", "/sessions", body, timeout=30)
        except OSError:
            return  # killed before it answered: never accepted
        if status == 201:
            accepted.add(handle["session_id"])

    thread = threading.Thread(target=post_all)
    thread.start()
    return thread


def test_kill_9_at_30_random_instants_loses_no_accepted_session(tmp_path: Path) -> None:
    rng = random.Random(20261201)
    log = tmp_path / "serve.log"
    accepted: set[str] = set()
    server = Serve(log)
    status, base = server.call("POST", "/sessions", project("Base"))
    assert status == 201, base
    server.wait_for_state(base["session_id"], {"done"})
    accepted.add(base["session_id"])
    kinds = {"done": 0, "input_required": 0, "aborted": 0, "unfinished folder": 0}
    for round_no in range(30):
        bodies = [project(f"P{round_no}_{i}") for i in range(3)]
        bodies += [run(f"full{round_no}", FULL_PLATE), run(f"ask{round_no}")]
        before = set(accepted)
        poster = post_in_background(server, bodies, accepted)
        if round_no == 29:
            # However slow the machine, one crash finds a run waiting for its answer: the
            # last round kills only once its batch has settled and its ask is journaled.
            poster.join(timeout=60)
            wait_until_settled_and_journaled(server, accepted - before)
        else:
            time.sleep(rng.uniform(0.0, 1.5))  # the instant of the crash
        server.kill()
        poster.join(timeout=60)
        server = Serve(log)
        sessions = check_accounted(server, accepted)
        for handle in sessions.values():
            if handle["state"] in kinds:
                kinds[handle["state"]] += 1
            if (handle["result"] or {}).get("path") and handle["state"] == "aborted":
                kinds["unfinished folder"] += 1
    assert server.stop() == 0
    # The instants covered the ground: some finished, some waiting, some cut short.
    assert all(kinds.values()), kinds
    assert len(accepted) > 30


def test_a_waiting_run_answered_after_restarts_finishes_with_its_earlier_answers(
    tmp_path: Path,
) -> None:
    log = tmp_path / "serve.log"
    server = Serve(log)
    status, handle = server.call("POST", "/sessions", project("Base"))
    server.wait_for_state(handle["session_id"], {"done"})
    status, handle = server.call("POST", "/sessions", run("twice"))
    assert status == 201, handle
    session_id = handle["session_id"]
    server.wait_for_state(session_id, {"input_required"})
    # 200 samples do not fit a 96-well plate: the plugin asks a second time.
    answers = {"sample_count": 200, "plate_type": "96-well", "prep_date": PREP}
    status, _ = server.call("POST", f"/sessions/{session_id}/resume", {"answers": answers})
    assert status == 200
    waiting = server.wait_for_state(session_id, {"input_required"})
    for _ in range(40):  # wait for the second prompt, not the first
        if waiting["pending_input"]["attempt"] == 2:
            break
        time.sleep(0.05)
        waiting = server.wait_for_state(session_id, {"input_required"})
    assert waiting["pending_input"]["attempt"] == 2
    wait_for_journal(session_id, lambda state, prompt: state == "input_required" and
                     prompt is not None and json.loads(prompt)["attempt"] == 2)  # fmt: skip
    server.kill()

    server = Serve(log)  # after a crash ...
    assert server.stop() == 0
    server = Serve(log)  # ... and a clean quit, it still waits, as it was
    back = server.sessions()[session_id]
    assert back["state"] == "input_required"
    assert back["pending_input"]["attempt"] == 2
    assert back["pending_input"]["answers"]["sample_count"] == 200
    assert back["pending_input"]["plugin"] == "plate_map"

    status, body = server.call(
        "POST", f"/sessions/{session_id}/resume", {"answers": {"plate_type": "384-well"}}
    )
    assert status == 200, body
    done = server.wait_for_state(session_id, {"done", "failed", "aborted"})
    assert done["state"] == "done", done
    record = read_record(Path(done["result"]["path"]))
    # The answers from before the crash, merged with the one given after it.
    merged = record.answers["plate_map"]
    assert (merged["sample_count"], merged["plate_type"]) == (200, "384-well")
    assert merged["prep_date"] == PREP
    [plugin] = record.plugins
    assert (plugin.status, plugin.prompts) == ("ok", 2)
    assert (Path(done["result"]["path"]) / "plate_map.csv").is_file()
    assert server.stop() == 0


def journal_file() -> Path:
    return paths.state_dir() / JOURNAL_NAME


def wait_until_settled_and_journaled(server: Serve, session_ids: set[str]) -> None:
    """Until each session has stopped moving (done, waiting, failed) and the journal says so."""
    settled = {"done", "input_required", "failed"}
    for session_id in session_ids:
        state = server.wait_for_state(session_id, settled)["state"]
        wait_for_journal(session_id, lambda journaled, _prompt, state=state: journaled == state)


def wait_for_journal(session_id: str, ready: Any, limit_s: float = 30.0) -> None:
    """Until the journal file holds the session as ``ready(state, pending_input)`` says:
    a prompt is committed a moment after it is shown; a kill -9 before that is a crash
    during a phase, which another test covers."""
    deadline = time.monotonic() + limit_s
    while True:
        with sqlite3.connect(f"file:{journal_file()}?mode=ro", uri=True) as conn:
            row = conn.execute(
                "SELECT state, pending_input FROM sessions WHERE session_id = ?", (session_id,)
            ).fetchone()
        if row is not None and ready(*row):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"journal row of {session_id}: {row}")
        time.sleep(0.02)


@pytest.mark.parametrize("how", ["truncated", "garbage"])
def test_a_damaged_journal_is_moved_aside_and_said(tmp_path: Path, how: str) -> None:
    log = tmp_path / "serve.log"
    server = Serve(log)
    status, handle = server.call("POST", "/sessions", project("Before"))
    server.wait_for_state(handle["session_id"], {"done"})
    assert server.health()["journal"]["status"] == "ok"
    assert server.stop() == 0
    path = journal_file()
    if how == "garbage":
        path.write_bytes(b"\x00garbage\xff" * 1000)
    else:
        path.write_bytes(path.read_bytes()[:1500])

    server = Serve(log)
    health = server.wait_for_folder_scan()
    journal = health["journal"]
    assert journal["status"] == "journal_damaged", journal
    [problem] = journal["problems"]
    assert "moved to" in problem["message"]
    assert Path(problem["moved_to"]).is_file()
    # The folder it made is complete (it has its record), so nothing is "found" for it.
    assert server.sessions() == {}
    status, handle = server.call("POST", "/sessions", project("After"))
    assert status == 201, handle
    server.wait_for_state(handle["session_id"], {"done"})
    assert server.stop() == 0


def test_first_start_and_a_journal_of_the_previous_schema(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    assert not journal_file().exists()
    server = Serve(log)
    assert server.wait_for_folder_scan()["journal"]["status"] == "ok"
    assert server.sessions() == {}
    assert server.stop() == 0

    journal_file().unlink()
    folder = data_root() / "DEMO" / "Old"
    (folder / RECORD_DIR).mkdir(parents=True)
    now = time.time()
    with sqlite3.connect(journal_file(), isolation_level=None) as conn:
        migrate(conn, SCHEMA_VERSION - 1)
        columns = [c for c in COLUMNS if c != "checkpoint"]
        insert_row(
            conn,
            columns,
            session_id="0ld-5e55-10n",
            kind="project",
            title="Project Old (DEMO)",
            request=json.dumps(project("Old")),
            destination=str(folder),
            state="rendering",
            phase="rendering_template",
            created_at=now - 60,
            last_heartbeat=now - 60,
        )
    server = Serve(log)
    server.wait_for_folder_scan()
    old = server.sessions()["0ld-5e55-10n"]
    assert old["state"] == "aborted"
    assert old["result"]["code"] == "interrupted"
    assert old["result"]["phase"] == "rendering_template"
    assert old["result"]["path"] == str(folder)
    assert server.stop() == 0


def insert_row(conn: sqlite3.Connection, columns: Sequence[str], **values: Any) -> None:
    """A session row as an older or crashed process left it: ``values``, NULL elsewhere."""
    row = {**dict.fromkeys(columns), **values}
    conn.execute(
        f"INSERT INTO sessions ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [row[c] for c in columns],
    )


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXE, *argv], capture_output=True, text=True, timeout=60, check=False)


def test_interrupted_and_found_folders_offer_discard_and_start_again(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    server = Serve(log)  # the first start makes the journal file
    assert server.stop() == 0
    interrupted = data_root() / "DEMO" / "Cut"
    (interrupted / RECORD_DIR).mkdir(parents=True)
    (interrupted / "half-rendered.txt").write_text("...")
    found = data_root() / "DEMO" / "Stray"
    (found / RECORD_DIR).mkdir(parents=True)
    now = time.time()
    with sqlite3.connect(journal_file(), isolation_level=None) as conn:
        insert_row(
            conn,
            COLUMNS,
            session_id="cut-1",
            kind="project",
            title="Project Cut (DEMO)",
            request=json.dumps(project("Cut")),
            destination=str(interrupted),
            state="plugin_pass",
            phase="running_plugins",
            created_at=now - 5,
            last_heartbeat=now - 5,
        )
    server = Serve(log)
    health = server.wait_for_folder_scan()
    assert health["journal"]["found_on_disk"] == 1
    sessions = server.sessions()
    cut = sessions["cut-1"]["result"]
    assert (cut["code"], cut["phase"], cut["path"]) == (
        "interrupted",
        "running_plugins",
        str(interrupted),
    )
    [stray] = [h for h in sessions.values() if h["destination"] == str(found)]
    assert stray["state"] == "aborted" and stray["result"]["found_on_disk"] is True

    listed = cli("list")
    assert listed.returncode == 0, listed.stderr
    assert "2 interrupted sessions kept their folder" in listed.stdout
    assert "Found on disk: Stray" in listed.stdout

    # Start again before discarding: the project's folder is still there.
    refused = cli("again", "cut-1")
    assert refused.returncode != 0 and "already exists" in refused.stderr, refused
    discarded = cli("discard", "cut-1")
    assert discarded.returncode == 0, discarded.stderr
    assert not interrupted.exists()
    again = cli("again", "cut-1", "--json")
    assert again.returncode == 0, again.stderr
    new = json.loads(again.stdout)
    done = server.wait_for_state(new["session_id"], {"done", "failed"})
    assert done["state"] == "done" and has_record(str(interrupted))
    assert server.sessions()["cut-1"]["result"]["started_again"] == new["session_id"]
    # A complete folder is never discarded.
    status, body = server.call("POST", f"/sessions/{new['session_id']}/discard")
    assert status == 409 and body["error"]["code"] in {"folder_complete", "nothing_to_discard"}
    # The found folder: discarded through the API.
    status, body = server.call("POST", f"/sessions/{stray['session_id']}/discard")
    assert status == 200, body
    assert not found.exists() and body["result"]["discarded"] is True
    assert server.stop() == 0


def done_then_stopped(log: Path, name: str) -> dict[str, Any]:
    """A project made by a serve that then stops; its handle, done."""
    server = Serve(log)
    status, handle = server.call("POST", "/sessions", project(name))
    assert status == 201, handle
    done = server.wait_for_state(handle["session_id"], {"done"})
    assert server.stop() == 0
    return done


def rewind(session_id: str, state: str, phase: str) -> None:
    """The journal's row of a finished session put back to an earlier live state."""
    with sqlite3.connect(journal_file(), isolation_level=None) as conn:
        conn.execute(
            "UPDATE sessions SET state=?, phase=?, outcome=NULL, finished_at=NULL "
            "WHERE session_id=?",
            (state, phase, session_id),
        )


def test_a_session_whose_record_got_written_is_finished_not_interrupted(
    tmp_path: Path,
) -> None:
    # The journal gets phase changes up to 50 ms late: a crash right after creation.json
    # was written may leave the row at an earlier phase. The record decides.
    log = tmp_path / "serve.log"
    done = done_then_stopped(log, "Late")
    rewind(done["session_id"], "plugin_pass", "running_plugins")
    server = Serve(log)
    back = server.sessions()[done["session_id"]]
    assert back["state"] == "done", back
    assert back["result"]["path"] == done["result"]["path"]
    assert server.stop() == 0


@pytest.mark.parametrize(
    ("state", "phase"),
    [
        # Stopped before checking its folder: the restart checks it with the pipeline's
        # own step, blocks its sync in the pipeline's words and records why.
        ("cache_write", "writing_cache"),
        # Stopped in SYNC_QUEUED after the check found a problem but before its record
        # said "blocked": nothing was queued, so the folder is checked again rather than
        # trusting the record's "queued" (or "not configured").
        ("sync_queued", "queueing_nas_sync"),
    ],
)
def test_a_recorded_session_finished_at_restart_is_checked_as_the_pipeline_checks(
    tmp_path: Path, state: str, phase: str
) -> None:
    log = tmp_path / "serve.log"
    done = done_then_stopped(log, "Unchecked")
    assert done["result"]["sync_status"] != "blocked_by_validation", done
    folder = Path(done["result"]["path"])
    (folder / "plate?.csv").write_text("1,2\n")
    rewind(done["session_id"], state, phase)
    server = Serve(log)
    back = server.sessions()[done["session_id"]]
    assert back["state"] == "done", back
    assert back["result"]["sync_status"] == "blocked_by_validation"
    blocked = "Sync blocked: 1 problem in the folder: plate?.csv: name contains ?"
    assert back["result"]["warnings"][-1] == blocked
    assert back["result"]["warnings"].count(blocked) == 1
    record = read_record(folder)
    assert record.sync_status == "blocked_by_validation"
    assert record.findings == ["plate?.csv: name contains ?"]
    assert server.stop() == 0
