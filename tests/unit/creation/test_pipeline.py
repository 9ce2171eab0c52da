"""The creation pipeline end to end: real Copier renders, real plugin worker processes,
real files. Happy paths, prompts and answers, plugin faults, post-validation, NAS sync."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import (
    PLATE_ANSWERS,
    START,
    finish,
    make_project,
    plugin_template,
    project_request,
    run_request,
    start_plugin_run,
    wait_state,
    with_settings,
    write_plugin,
    write_template,
)

from tray_app.config import Settings
from tray_app.creation.controller import CreationController
from tray_app.creation.errors import CreationError
from tray_app.creation.record import read_record
from tray_app.creation.sync import JobStatus, SyncPlan, SyncQueue, Transport
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import SessionStore
from tray_app.sessions.subscription import Subscription


def drain(subscription: Subscription) -> list[dict[str, Any]]:
    frames = []
    while (frame := subscription.get_nowait()) is not None:
        frames.append(frame)
    return frames


def stamp() -> str:
    return START.astimezone().strftime("%Y-%m-%dT%H-%M-%S")


async def test_project_then_run_happy_path(
    controller: CreationController, store: SessionStore, settings: Settings
) -> None:
    events = store.subscribe_all()
    handle = await controller.create_project(project_request())
    assert handle["kind"] == "project"
    assert handle["destination"] == str(settings.local_root_path() / "TECAN" / "Glycan_Screen")
    project = await finish(store, handle["session_id"])
    assert project.state is SessionState.DONE, project.outcome
    folder = Path(handle["destination"])
    assert project.result == {"path": str(folder), "sync_status": "not_configured", "warnings": []}
    # The template's own README is kept, not replaced by the generated one.
    readme = (folder / "README.md").read_text()
    assert "Project Glycan_Screen" in readme and "Responsible | ada" in readme
    assert (folder / "Runs" / "README.txt").is_file()
    assert 'project: "Glycan_Screen"' in (folder / "project.yml").read_text()
    record = read_record(folder)
    assert record.kind == "project" and record.session_id == handle["session_id"]
    assert (record.template.name, record.template.version) == ("exlab-project", "1.0.0")
    assert record.request["project_name"] == "Glycan_Screen"
    assert record.paths.relative == "TECAN/Glycan_Screen"
    assert record.created_by == "ada" and record.created_at == "2026-03-01T09:00:05.000Z"
    assert record.sync_status == "not_configured" and record.plugins == []

    drain(events)
    handle = await controller.create_run(run_request(variables=dict(PLATE_ANSWERS)))
    run = await finish(store, handle["session_id"])
    assert run.state is SessionState.DONE, run.outcome
    run_folder = folder / "Runs" / f"Run_{stamp()}"
    assert run.result == {"path": str(run_folder), "sync_status": "not_configured", "warnings": []}
    frames = [f for f in drain(events) if f.get("session_id") == handle["session_id"]]
    phases = [f.get("phase") for f in frames if f["kind"] == "phase"]
    assert phases == [
        "validating_inputs",
        "rendering_template",
        "running_plugins",
        "writing_cache",
        "validating_post_creation",
        "queueing_nas_sync",
    ]
    progress = [f for f in frames if f["kind"] == "progress"]
    assert [(f["current"], f["total"], f["plugin"]) for f in progress] == [(1, 1, "plate_map")]
    assert frames[-1]["kind"] == "done"
    # Template files, plugin files, generated README, record.
    assert "replicates: 1" in (run_folder / "run.yml").read_text()
    rows = list(csv.DictReader((run_folder / "plate_map.csv").read_text().splitlines()))
    assert [r["sample_id"] for r in rows if r["role"] == "sample"][-1] == "S012"
    readme = (run_folder / "README.md").read_text()
    assert "plate 7" in readme and "plate_map: ok" in readme
    record = read_record(run_folder)
    assert record.kind == "run" and record.paths.project == str(folder)
    assert [(p.name, p.status, p.runs, p.prompts) for p in record.plugins] == [
        ("plate_map", "ok", 1, 0)
    ]
    assert record.plugins[0].files == ["plate_map.csv", "plate_map_notes.txt"]
    assert record.variables["sample_count"] == 12
    assert record.variables["folder_name"] == f"Run_{stamp()}"


async def test_test_run_goes_to_test_runs(
    controller: CreationController, store: SessionStore
) -> None:
    project = await make_project(controller, store)
    handle = await controller.create_run(run_request(run_kind="test", label="dry"))
    session = await finish(store, handle["session_id"])
    assert session.state is SessionState.DONE, session.outcome
    folder = project / "TestRuns" / f"TestRun_{stamp()}"
    assert session.result and session.result["path"] == str(folder)
    assert 'check_type: "dry run"' in (folder / "test_run.yml").read_text()
    assert read_record(folder).template.name == "exlab-test-run"


async def test_input_required_refuses_bad_answers_then_finishes(
    controller: CreationController, store: SessionStore
) -> None:
    await make_project(controller, store)
    handle = await controller.create_run(run_request())
    sid = handle["session_id"]
    waiting = await wait_state(store, sid, SessionState.INPUT_REQUIRED)
    prompt = waiting.pending_input
    assert prompt is not None
    assert prompt["plugin"] == "plate_map" and prompt["attempt"] == 1 and prompt["answers"] == {}
    assert {f["id"] for f in prompt["fields"]} >= {"sample_count", "plate_type", "notes"}
    assert len({f["type"] for f in prompt["fields"]}) >= 3
    assert waiting.next_action == "awaiting_input"

    with pytest.raises(CreationError) as refused:
        await controller.resume(sid, {"sample_count": "many", "plate_type": "1536-well"})
    assert refused.value.code == "invalid_answers"
    assert set(refused.value.details["fields"]) >= {"sample_count", "plate_type"}
    assert store.get(sid).state is SessionState.INPUT_REQUIRED  # still waiting
    with pytest.raises(CreationError) as unknown:
        await controller.resume(sid, {**PLATE_ANSWERS, "colour": "red"})
    assert unknown.value.details["fields"] == {"colour": "unknown field"}

    handle = await controller.resume(sid, {**PLATE_ANSWERS, "notes": "from the cold room"})
    assert handle["state"] == "plugin_pass" and handle["pending_input"] is None
    session = await finish(store, sid)
    assert session.state is SessionState.DONE, session.outcome
    folder = Path(session.destination or "")
    assert "from the cold room" in (folder / "plate_map_notes.txt").read_text()
    record = read_record(folder)
    assert record.answers["plate_map"]["sample_count"] == 12
    assert [(p.status, p.runs, p.prompts) for p in record.plugins] == [("ok", 2, 1)]
    with pytest.raises(CreationError) as ended:
        await controller.resume(sid, PLATE_ANSWERS)
    assert ended.value.code == "session_already_completed"


TWO_QUESTIONS = """\
import json, pathlib

def run(payload):
    answers = payload["answers"]
    if "operator_initials" not in answers:
        return {"status": "input_required", "reason": "who?", "fields": [
            {"id": "operator_initials", "label": "Initials", "type": "string", "required": True}]}
    if "buffer_lot" not in answers:
        return {"status": "input_required", "reason": "which lot?", "fields": [
            {"id": "buffer_lot", "label": "Buffer lot", "type": "integer", "required": True}]}
    out = pathlib.Path(payload["destination"]) / "answers.json"
    out.write_text(json.dumps({"answers": answers, "attempt": payload["attempt"]}))
    return {"status": "ok", "files": ["answers.json"]}
"""


async def test_two_prompts_in_a_row_merge_their_answers(
    controller: CreationController, store: SessionStore, template_dir: Path, plugin_dir: Path
) -> None:
    handle = await start_plugin_run(
        controller, store, template_dir, plugin_dir, "two_questions", TWO_QUESTIONS
    )
    sid = handle["session_id"]
    first = await wait_state(store, sid, SessionState.INPUT_REQUIRED)
    assert first.pending_input and first.pending_input["reason"] == "who?"
    await controller.resume(sid, {"operator_initials": "AL"})
    second = await wait_state(store, sid, SessionState.INPUT_REQUIRED)
    assert second.pending_input is not None
    assert second.pending_input["attempt"] == 2
    assert second.pending_input["answers"] == {"operator_initials": "AL"}
    await controller.resume(sid, {"buffer_lot": "4711"})
    session = await finish(store, sid)
    assert session.state is SessionState.DONE, session.outcome
    written = json.loads((Path(session.destination or "") / "answers.json").read_text())
    assert written == {"answers": {"operator_initials": "AL", "buffer_lot": 4711}, "attempt": 3}


ALWAYS_ASKS = """\
def run(payload):
    return {"status": "input_required", "reason": "again", "fields": [
        {"id": "x", "label": "X", "type": "integer", "required": True}]}
"""


async def test_prompts_per_plugin_are_capped(
    store: SessionStore, settings: Settings, template_dir: Path, plugin_dir: Path
) -> None:
    write_plugin(plugin_dir, "nagging", ALWAYS_ASKS)
    plugin_template(template_dir, "nagging-run", ["nagging"])
    controller = CreationController(store, with_settings(settings, max_prompts_per_plugin=2))
    try:
        await make_project(controller, store)
        sid = (await controller.create_run(run_request(template="nagging-run")))["session_id"]
        for _ in range(2):
            await wait_state(store, sid, SessionState.INPUT_REQUIRED)
            await controller.resume(sid, {"x": 1})
        session = await finish(store, sid)
        assert session.state is SessionState.FAILED
        assert session.error and session.error["code"] == "too_many_prompts"
        assert session.error["path"] == session.destination
    finally:
        await controller.aclose()
    kept = Path(session.destination or "")
    assert (kept / "run.txt").is_file()  # the partial folder is kept


FAULTS = {
    "crashes": ("import os\ndef run(payload):\n    os._exit(3)\n", "crashed"),
    "raises": ("def run(payload):\n    raise RuntimeError('reader offline')\n", "error"),
    "sleeps": ("import time\ndef run(payload):\n    time.sleep(30)\n", "timeout"),
    "garbage": (
        "import os\nfrom tray_app.creation.plugins import worker\n"
        "def run(payload):\n    os.write(worker.ENVELOPE_FD, b'{not json')\n    os._exit(0)\n",
        "bad_output",
    ),
    # Envelopes are read whole (a 2 MiB one is fine, see below) up to the host's 8 MiB cap.
    "huge": (
        "def run(payload):\n    return {'status': 'ok', 'data': {'blob': 'x' * (9 << 20)}}\n",
        "output_too_large",
    ),
    "escapes": (
        "import pathlib\ndef run(payload):\n"
        "    outside = pathlib.Path(payload['destination']).parent / 'escaped.txt'\n"
        "    outside.write_text('out')\n    return {'status': 'ok'}\n",
        "escaped",
    ),
    "bad_fields": (
        "def run(payload):\n    return {'status': 'input_required', 'reason': 'r', "
        "'fields': [{'id': 'x', 'type': 'colour'}]}\n",
        "bad_output",
    ),
}


#: How a warning words each status.
STATUS_WORDS = {
    "crashed": "crashed",
    "error": "reported an error",
    "timeout": "did not finish in time",
    "bad_output": "gave an answer that could not be read",
    "output_too_large": "gave too large an answer",
    "escaped": "wrote outside the session's folder",
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_plugin_faults_are_recorded_and_the_session_goes_on(
    controller: CreationController,
    store: SessionStore,
    template_dir: Path,
    plugin_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
) -> None:
    # The worker allows writes to its temp folder; keep that away from the project.
    (tmp_path / "worker-tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "worker-tmp"))
    code, status = FAULTS[fault]
    # A short timeout only where it is the fault: under load the others need their time.
    write_plugin(plugin_dir, fault, code, timeout_s=1.0 if fault == "sleeps" else 20.0)
    plugin_template(template_dir, "faulty-run", [fault, "plate_map"])
    project = await make_project(controller, store)
    handle = await controller.create_run(
        run_request(template="faulty-run", variables=dict(PLATE_ANSWERS))
    )
    session = await finish(store, handle["session_id"])
    assert session.state is SessionState.DONE, session.outcome
    assert session.result is not None
    assert len(session.result["warnings"]) == 1
    # In words (the record below keeps the status code).
    assert session.result["warnings"][0].startswith(f"Plugin '{fault}' {STATUS_WORDS[status]}")
    folder = Path(session.result["path"])
    record = read_record(folder)
    assert [(p.name, p.status) for p in record.plugins] == [(fault, status), ("plate_map", "ok")]
    assert (folder / "plate_map.csv").is_file()  # the next plugin still ran
    assert not (project / "Runs" / "escaped.txt").exists()


BIG_BUT_FINE = """\
import pathlib

def run(payload):
    (pathlib.Path(payload["destination"]) / "big.txt").write_text("ok")
    return {"status": "ok", "message": "y" * (2 << 20), "files": ["big.txt"]}
"""


async def test_an_envelope_over_one_mib_is_read_whole(
    controller: CreationController, store: SessionStore, template_dir: Path, plugin_dir: Path
) -> None:
    handle = await start_plugin_run(
        controller, store, template_dir, plugin_dir, "chatty", BIG_BUT_FINE
    )
    session = await finish(store, handle["session_id"])
    assert session.state is SessionState.DONE and session.result is not None
    assert session.result["warnings"] == []
    [plugin] = read_record(Path(session.result["path"])).plugins
    assert (plugin.status, len(plugin.message), plugin.files) == ("ok", 2 << 20, ["big.txt"])


async def test_fatal_plugins_fail_the_session_and_keep_the_folder(
    controller: CreationController, store: SessionStore, template_dir: Path, plugin_dir: Path
) -> None:
    write_plugin(plugin_dir, "crashes", FAULTS["crashes"][0])
    plugin_template(template_dir, "strict-run", ["crashes", "plate_map"], fatal=True)
    await make_project(controller, store)
    handle = await controller.create_run(run_request(template="strict-run"))
    session = await finish(store, handle["session_id"])
    assert session.state is SessionState.FAILED
    error = session.error or {}
    assert error["code"] == "plugin_failed"
    assert error["details"] == {"plugin": "crashes", "status": "crashed"}
    assert error["path"] == session.destination and session.destination in error["message"]
    folder = Path(session.destination or "")
    assert (folder / "run.txt").is_file() and not (folder / "plate_map.csv").exists()


async def test_missing_plugin_is_a_warning(
    controller: CreationController, store: SessionStore, template_dir: Path
) -> None:
    plugin_template(template_dir, "missing-run", ["not_installed"])
    await make_project(controller, store)
    handle = await controller.create_run(run_request(template="missing-run"))
    session = await finish(store, handle["session_id"])
    assert session.state is SessionState.DONE
    assert (
        session.result
        and "'not_installed' not installed in any plugin folder" in session.result["warnings"][0]
    )


async def test_broken_plugin_manifest_is_named_in_the_warning(
    controller: CreationController, store: SessionStore, template_dir: Path, plugin_dir: Path
) -> None:
    folder = write_plugin(plugin_dir, "broken", "def run(payload):\n    return {}\n")
    (folder / "plugin.toml").write_text('name = "broken"\nversion = "1"\ntimeout_s = -1\n')
    plugin_template(template_dir, "broken-run", ["broken"])
    await make_project(controller, store)
    handle = await controller.create_run(run_request(template="broken-run"))
    session = await finish(store, handle["session_id"])
    assert session.state is SessionState.DONE and session.result is not None
    [warning] = session.result["warnings"]
    assert "'broken'" in warning and "timeout_s" in warning


UNSAFE_OUTPUT = """\
import os, pathlib

def run(payload):
    folder = pathlib.Path(payload["destination"])
    (folder / "bad:name.txt").write_text("x")
    os.symlink("/etc", folder / "etc-link")
    return {"status": "ok", "files": ["bad:name.txt"]}
"""


async def test_post_validation_blocks_sync_on_unsafe_output(
    store: SessionStore, settings: Settings, tmp_path: Path, template_dir: Path, plugin_dir: Path
) -> None:
    write_plugin(plugin_dir, "sloppy", UNSAFE_OUTPUT)
    plugin_template(template_dir, "sloppy-run", ["sloppy"])
    nas = tmp_path / "nas"
    nas.mkdir()
    controller = CreationController(store, with_settings(settings, nas_root=str(nas)))
    try:
        await make_project(controller, store)
        handle = await controller.create_run(run_request(template="sloppy-run"))
        session = await finish(store, handle["session_id"])
        assert controller.sync_queue and await controller.sync_queue.wait_settled(20)
    finally:
        await controller.aclose()
    assert session.state is SessionState.DONE, session.outcome
    result = session.result or {}
    assert result["sync_status"] == "blocked_by_validation"
    assert any("Sync blocked" in w for w in result["warnings"])
    record = read_record(Path(result["path"]))
    assert record.sync_status == "blocked_by_validation"
    assert any("bad:name.txt" in f for f in record.findings)
    assert any("etc-link: is a symbolic link" in f for f in record.findings)
    assert [(p.name, p.status) for p in record.plugins] == [("sloppy", "ok")]
    # The project was synced; the blocked run was not, not even inside the project's copy.
    assert (nas / "TECAN" / "Glycan_Screen" / "project.yml").is_file()
    assert not (nas / Path(result["path"]).relative_to(settings.local_root_path())).exists()


async def test_nas_sync_copies_the_folder_and_persists_status(
    store: SessionStore, settings: Settings, tmp_path: Path
) -> None:
    nas = tmp_path / "nas"
    nas.mkdir()
    controller = CreationController(store, with_settings(settings, nas_root=str(nas)))
    try:
        project = await make_project(controller, store)
        handle = await controller.create_run(run_request(variables=dict(PLATE_ANSWERS)))
        session = await finish(store, handle["session_id"])
        assert session.result and session.result["sync_status"] == "queued"
        queue = controller.sync_queue
        assert queue is not None and await queue.wait_settled(20)
        job = queue.for_session(handle["session_id"])
        assert job is not None and job.status is JobStatus.SYNCED
    finally:
        await controller.aclose()
    run_folder = Path(session.result["path"])
    mirrored = nas / run_folder.relative_to(settings.local_root_path())
    assert (mirrored / "plate_map.csv").read_bytes() == (run_folder / "plate_map.csv").read_bytes()
    for record in (read_record(mirrored), read_record(run_folder)):
        assert record.sync_status == "synced"
        assert record.sync is not None and record.sync.target == str(mirrored)
    assert (nas / "TECAN" / "Glycan_Screen" / "project.yml").is_file()
    assert project.is_dir()
    restarted = SyncQueue(queue.db_path)
    await restarted.open()
    assert sorted(j.status for j in restarted.jobs()) == ["synced", "synced"]
    await restarted.aclose()


async def test_prewarm_resumes_unfinished_nas_copies(
    store: SessionStore, settings: Settings, tmp_path: Path
) -> None:
    local = settings.local_root_path()
    source = local / "TECAN" / "left-over"
    source.mkdir(parents=True)
    (source / "data.csv").write_text("1\n")
    nas = tmp_path / "nas"
    earlier = SyncQueue(clock=store.clock)
    await earlier.open()
    plan = SyncPlan(root=str(nas), transport=Transport.COPY, require_mount=False)
    job = await earlier.enqueue(source, plan, "TECAN/left-over")
    assert await earlier.wait_settled(20) and job.status is JobStatus.WAITING  # no NAS yet
    await earlier.aclose()
    nas.mkdir()
    store.clock.advance(seconds=60)  # type: ignore[attr-defined]
    controller = CreationController(store, with_settings(settings, nas_root=str(nas)))
    try:
        await controller.prewarm()
        queue = controller.sync_queue
        assert queue is not None and await queue.wait_settled(20)
    finally:
        await controller.aclose()
    assert (nas / "TECAN" / "left-over" / "data.csv").read_text() == "1\n"
    assert [j.status for j in queue.jobs()] == ["synced"]


async def test_plain_copier_template_renders_as_a_run(
    controller: CreationController, store: SessionStore, template_dir: Path
) -> None:
    write_template(
        template_dir,
        "plain",
        """\
        instrument:
          type: str
          help: Instrument used
        cycles:
          type: int
          default: 3
        """,
        {"{{ instrument }}-settings.txt.jinja": "{{ cycles }} cycles, {{ label }}\n"},
    )
    [plain] = [t for t in controller.templates("run") if t.name == "plain"]
    assert plain.version is None and plain.plugins == []
    await make_project(controller, store)
    with pytest.raises(CreationError) as missing:
        await controller.create_run(run_request(template="plain"))
    errors = missing.value.details["errors"]
    assert [e["code"] for e in errors] == ["missing_variables"] and "instrument" in errors[0][
        "message"
    ]
    handle = await controller.create_run(
        run_request(template="plain", variables={"instrument": "Spark"})
    )
    session = await finish(store, handle["session_id"])
    assert session.state is SessionState.DONE, session.outcome
    folder = Path(session.destination or "")
    assert (folder / "Spark-settings.txt").read_text() == "3 cycles, plate 7\n"
    assert (folder / "README.md").is_file()
    assert read_record(folder).template.kind == "run"
