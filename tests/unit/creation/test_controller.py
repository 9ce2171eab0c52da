"""CreationController: validation codes, destinations that never collide, cancel in every
phase (with and without discarding files), the GC abandoning a waiting session, shutdown."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import (
    PLATE_ANSWERS,
    START,
    finish,
    make_project,
    project_request,
    run_request,
    start_plugin_run,
    wait_state,
    with_settings,
    write_template,
)

from tests.support.clock import FakeClock
from tray_app.config import Settings
from tray_app.creation.controller import CreationController
from tray_app.creation.destinations import DestinationClaimed, Destinations
from tray_app.creation.errors import CreationError
from tray_app.sessions.states import Phase, SessionState
from tray_app.sessions.store import SessionStore


def stamp() -> str:
    return START.astimezone().strftime("%Y-%m-%dT%H-%M-%S")


async def refused(controller: CreationController, request: Any) -> CreationError:
    with pytest.raises(CreationError) as caught:
        await controller.create(request)
    assert caught.value.code == "validation_failed"
    return caught.value


# ---- VALIDATING -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "code", "field"),
    [
        (project_request(equipment_id="NOPE"), "unknown_equipment", "equipment_id"),
        (project_request("../etc"), "unsafe_project_name", "project_name"),
        (project_request("a/b"), "unsafe_project_name", "project_name"),
        (project_request("CON"), "unsafe_project_name", "project_name"),
        (project_request("x:y"), "unsafe_project_name", "project_name"),
        (project_request("trailing."), "unsafe_project_name", "project_name"),
        (project_request(""), "unsafe_project_name", "project_name"),
        (project_request(".hidden"), "unsafe_project_name", "project_name"),
        (project_request(label="x" * 101), "label_too_long", "label"),
        (project_request(objective="x" * 2001), "objective_too_long", "objective"),
        (project_request(operator="  "), "operator_required", "operator"),
        (project_request(template="no-such-template"), "unknown_template", "template"),
        (project_request(template="exlab-run"), "template_kind_mismatch", "template"),
        (run_request("Nowhere"), "project_not_found", "project_name"),
        (run_request(label=" "), "label_required", "label"),
        (
            project_request(variables={"project_name": "Other"}),
            "reserved_variable",
            "variables.project_name",
        ),
        (
            project_request(variables={"data_classification": "secret"}),
            "invalid_variable",
            "variables.data_classification",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
async def test_validation_codes(
    controller: CreationController,
    store: SessionStore,
    settings: Settings,
    request_: Any,
    code: str,
    field: str,
) -> None:
    error = await refused(controller, request_)
    errors = error.details["errors"]
    found = [(e["code"], e["field"]) for e in errors]
    # A run's request for a project that was never made also reports project_not_found.
    assert found[0] == (code, field) and set(found[1:]) <= {("project_not_found", "project_name")}
    assert error.field == field
    # A refused request is not a session: nothing to list, notify or evict.
    assert "session_id" not in error.details
    assert store.sessions() == []
    # Nothing was created for a refused request.
    assert not any(settings.local_root_path().glob("*/*/Runs/Run_*"))
    assert controller.live_task_count == 0


async def test_every_problem_is_reported_at_once(controller: CreationController) -> None:
    error = await refused(
        controller,
        project_request("bad/name", equipment_id="NOPE", label="x" * 101, objective="y" * 2001),
    )
    codes = [e["code"] for e in error.details["errors"]]
    assert codes == [
        "unknown_equipment",
        "unsafe_project_name",
        "label_too_long",
        "objective_too_long",
    ]


async def test_operator_allowlist(store: SessionStore, settings: Settings) -> None:
    controller = CreationController(store, with_settings(settings, operators=["Ada", "grace"]))
    try:
        error = await refused(controller, project_request(operator="eve"))
        assert error.details["errors"][0]["code"] == "operator_not_allowed"
        handle = await controller.create_project(project_request(operator="ada"))
        assert (await finish(store, handle["session_id"])).state is SessionState.DONE
    finally:
        await controller.aclose()


async def test_existing_project_is_destination_exists(
    controller: CreationController, store: SessionStore
) -> None:
    folder = await make_project(controller, store)
    before = sorted(p.name for p in folder.iterdir())
    error = await refused(controller, project_request())
    assert error.details["errors"][0]["code"] == "destination_exists"
    assert sorted(p.name for p in folder.iterdir()) == before  # untouched


async def test_unsafe_template_is_refused(
    controller: CreationController, template_dir: Path
) -> None:
    write_template(template_dir, "tasks", "_tasks: ['rm -rf /']\n_exlab_type: project\n")
    error = await refused(controller, project_request(template="tasks"))
    assert error.details["errors"][0]["code"] == "unsafe_template"


# ---- destinations ----------------------------------------------------------------------


async def test_two_runs_of_one_project_in_the_same_second_get_distinct_folders(
    controller: CreationController, store: SessionStore
) -> None:
    project = await make_project(controller, store)
    handles = await asyncio.gather(
        *(
            controller.create_run(run_request(label=f"twin {i}", variables=dict(PLATE_ANSWERS)))
            for i in range(3)
        )
    )
    destinations = [h["destination"] for h in handles]
    assert destinations == [
        str(project / "Runs" / f"Run_{stamp()}"),
        str(project / "Runs" / f"Run_{stamp()}_2"),
        str(project / "Runs" / f"Run_{stamp()}_3"),
    ]
    sessions = [await finish(store, h["session_id"]) for h in handles]
    assert all(s.state is SessionState.DONE for s in sessions), [s.outcome for s in sessions]
    # Each folder holds its own run only.
    for index, destination in enumerate(destinations):
        assert f"twin {index}" in (Path(destination) / "run.yml").read_text()
    # Later, in the same second still: the folders on disk are skipped too.
    later = await controller.create_run(run_request(variables=dict(PLATE_ANSWERS)))
    assert later["destination"].endswith(f"Run_{stamp()}_4")
    await finish(store, later["session_id"])


async def test_same_project_twice_at_once_one_wins(
    controller: CreationController, store: SessionStore
) -> None:
    results = await asyncio.gather(
        controller.create_project(project_request()),
        controller.create_project(project_request()),
        return_exceptions=True,
    )
    handles = [r for r in results if isinstance(r, dict)]
    errors = [r for r in results if isinstance(r, CreationError)]
    assert len(handles) == 1 and len(errors) == 1
    assert errors[0].details["errors"][0]["code"] == "destination_exists"
    assert (await finish(store, handles[0]["session_id"])).state is SessionState.DONE


def test_claim_fails_when_another_process_made_the_folder(
    settings: Settings, tmp_path: Path
) -> None:
    destinations = Destinations()
    path, reserved = destinations.plan(settings, run_request(), START)
    assert reserved and path is not None
    path.mkdir(parents=True)  # someone else, between plan and claim
    with pytest.raises(DestinationClaimed):
        Destinations.claim(path)
    destinations.release(path)
    assert not destinations.is_reserved(path)


# ---- cancel --------------------------------------------------------------------------------

SLOW_RENDER = "{% for i in range(3000) %}{% for j in range(300) %}{% endfor %}{% endfor %}done\n"

SLEEPY_PLUGIN = """\
import os, pathlib, time

def run(payload):
    marker = pathlib.Path(payload["destination"]) / "plugin.pid"
    # Written whole then renamed: the test polls for the file and reads it at once.
    partial = marker.with_suffix(".tmp")
    partial.write_text(str(os.getpid()))
    os.replace(partial, marker)
    time.sleep(60)
    return {"status": "ok"}
"""


async def wait_for_file(path: Path, limit_s: float = 15.0) -> None:
    """Bounded wait for a file a plugin process writes (nothing else can tell us)."""
    for _ in range(int(limit_s / 0.01)):
        if path_exists(path):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{path} did not appear within {limit_s} s")


def path_exists(path: Path) -> bool:
    return path.exists()


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")


def assert_aborted(store: SessionStore, sid: str, discard: bool, phase: Phase) -> Path:
    session = store.get(sid)
    assert session is not None and session.state is SessionState.ABORTED
    assert session.ended_in_phase is phase
    folder = Path(session.destination or "")
    assert session.result == {
        "code": "cancelled",
        "message": "Cancelled by the operator.",
        "discard_files": discard,
        "path": str(folder),
    }
    assert folder.exists() is not discard
    return folder


@pytest.mark.parametrize("discard", [False, True], ids=["keep", "discard"])
async def test_cancel_during_rendering(
    controller: CreationController, store: SessionStore, template_dir: Path, discard: bool
) -> None:
    write_template(
        template_dir,
        "slow",
        "_exlab_plugins: [plate_map]\n",
        {"slow.txt.jinja": SLOW_RENDER},
    )
    await make_project(controller, store)
    sid = (await controller.create_run(run_request(template="slow")))["session_id"]
    await wait_state(store, sid, SessionState.RENDERING)
    handle = await controller.cancel(sid, discard_files=discard)
    assert handle["state"] == "aborted"
    folder = assert_aborted(store, sid, discard, Phase.RENDERING_TEMPLATE)
    if not discard:
        # The render thread finished before cancel returned; nothing ran after it.
        assert (folder / "slow.txt").read_text() == "done\n"
        assert not (folder / "plate_map.csv").exists()
        assert not (folder / ".exlab-wizard" / "creation.json").exists()
    assert controller.live_task_count == 0


@pytest.mark.parametrize("discard", [False, True], ids=["keep", "discard"])
async def test_cancel_during_a_plugin_kills_the_worker(
    controller: CreationController,
    store: SessionStore,
    template_dir: Path,
    plugin_dir: Path,
    discard: bool,
) -> None:
    handle = await start_plugin_run(
        controller, store, template_dir, plugin_dir, "sleepy", SLEEPY_PLUGIN
    )
    sid = handle["session_id"]
    marker = Path(handle["destination"]) / "plugin.pid"
    await wait_for_file(marker)
    pid = int(marker.read_text())
    started = time.monotonic()
    await controller.cancel(sid, discard_files=discard)
    assert time.monotonic() - started < 5
    assert process_gone(pid)
    assert_aborted(store, sid, discard, Phase.RUNNING_PLUGINS)


@pytest.mark.parametrize("discard", [False, True], ids=["keep", "discard"])
async def test_cancel_while_waiting_for_input(
    controller: CreationController, store: SessionStore, discard: bool
) -> None:
    await make_project(controller, store)
    sid = (await controller.create_run(run_request()))["session_id"]
    await wait_state(store, sid, SessionState.INPUT_REQUIRED)
    await controller.cancel(sid, discard_files=discard)
    folder = assert_aborted(store, sid, discard, Phase.INPUT_REQUIRED)
    if not discard:
        assert (folder / "run.yml").is_file()
    session = store.get(sid)
    assert session is not None and session.pending_input is None
    with pytest.raises(CreationError) as late:
        await controller.resume(sid, PLATE_ANSWERS)
    assert late.value.code == "session_already_completed"
    with pytest.raises(CreationError) as again:
        await controller.cancel(sid)
    assert again.value.code == "session_already_completed"


async def test_resume_and_cancel_errors(
    controller: CreationController, store: SessionStore, template_dir: Path, plugin_dir: Path
) -> None:
    for call in (controller.resume("nope", {}), controller.cancel("nope")):
        with pytest.raises(CreationError) as unknown:
            await call
        assert unknown.value.code == "session_not_found"
    handle = await start_plugin_run(
        controller, store, template_dir, plugin_dir, "sleepy", SLEEPY_PLUGIN
    )
    await wait_for_file(Path(handle["destination"]) / "plugin.pid")
    with pytest.raises(CreationError) as busy:
        await controller.resume(handle["session_id"], {})
    assert busy.value.code == "not_awaiting_input"
    await controller.cancel(handle["session_id"])


# ---- GC and shutdown ---------------------------------------------------------------------


async def test_gc_abandoning_a_waiting_session_wakes_and_cleans_up(
    controller: CreationController, store: SessionStore, clock: FakeClock
) -> None:
    await make_project(controller, store)
    sid = (await controller.create_run(run_request()))["session_id"]
    await wait_state(store, sid, SessionState.INPUT_REQUIRED)
    clock.advance(minutes=30)
    assert store.gc_once().abandoned == []
    clock.advance(minutes=31)
    assert store.gc_once().abandoned == [sid]
    assert await controller.wait_idle(10)
    assert controller.live_task_count == 0
    session = store.get(sid)
    assert session is not None and session.state is SessionState.ABORTED
    folder = Path(session.destination or "")
    assert session.result is not None
    assert session.result["code"] == "session_abandoned"
    assert session.result["discard_files"] is False
    assert session.result["path"] == str(folder)
    assert (folder / "run.yml").is_file()  # kept for review


async def test_shutdown_refuses_new_sessions_and_aclose_keeps_files(
    store: SessionStore, settings: Settings
) -> None:
    controller = CreationController(store, settings)
    await make_project(controller, store)
    sid = (await controller.create_run(run_request()))["session_id"]
    await wait_state(store, sid, SessionState.INPUT_REQUIRED)
    controller.begin_shutdown()
    assert not controller.accepting
    with pytest.raises(CreationError) as closed:
        await controller.create_run(run_request())
    assert closed.value.code == "shutting_down"
    assert not await controller.wait_idle(0.05)  # still waiting for input
    await controller.aclose()
    assert controller.live_task_count == 0 and await controller.wait_idle(0)
    session = store.get(sid)
    assert session is not None and session.state is SessionState.ABORTED
    assert session.result and session.result["code"] == "shutdown"
    assert (Path(session.destination or "") / "run.yml").is_file()


async def test_templates_for_dialogs(controller: CreationController) -> None:
    kinds = {t.name: t.kind for t in controller.templates()}
    assert kinds["exlab-project"] == "project"
    assert kinds["exlab-run"] == "run"
    assert kinds["exlab-test-run"] == "test-run"
    [run] = [t for t in controller.templates("run") if t.name == "exlab-run"]
    assert run.plugins == ["plate_map"] and run.version == "1.0.0"
    questions = {q["name"]: q for q in run.to_dict()["questions"]}
    assert questions["replicates"] == {
        "name": "replicates",
        "type": "int",
        "default": 1,
        "help": "Technical replicates per sample",
        "choices": None,
    }
    assert [t.name for t in controller.templates("project")] == ["exlab-project"]


@pytest.mark.parametrize(
    ("request_", "code", "field"),
    [
        (project_request(operator="a" * 101), "operator_too_long", "operator"),
        (
            project_request(operator="ada\nREADME injection"),
            "operator_control_characters",
            "operator",
        ),
        (project_request(label="bell\x07"), "label_control_characters", "label"),
        (
            project_request(objective="tab\tok\nbut not \x1b[31m"),
            "objective_control_characters",
            "objective",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
async def test_one_set_of_text_limits_for_every_field(
    controller: CreationController, request_: Any, code: str, field: str
) -> None:
    error = await refused(controller, request_)
    assert [(e["code"], e["field"]) for e in error.details["errors"]] == [(code, field)]


async def test_an_objective_may_have_line_breaks(
    controller: CreationController, store: SessionStore
) -> None:
    handle = await controller.create(project_request(objective="line one\n\tline two"))
    assert (await finish(store, handle["session_id"])).state is SessionState.DONE


async def test_an_unknown_variable_is_refused_by_name(controller: CreationController) -> None:
    error = await refused(controller, project_request(variables={"colour": "red"}))
    (problem,) = error.details["errors"]
    assert (problem["code"], problem["field"]) == ("unknown_variable", "variables.colour")
    assert "'colour' is not a variable of template 'exlab-project'" in problem["message"]


async def test_a_plugins_declared_variables_are_known(
    controller: CreationController, store: SessionStore
) -> None:
    # The README's example: plate_map's values passed with the run, no question asked.
    await make_project(controller, store)
    variables = {"sample_count": 24, "plate_type": "96-well", "prep_date": "2026-03-01"}
    handle = await controller.create(run_request(variables=variables))
    assert (await finish(store, handle["session_id"])).state is SessionState.DONE
    error = await refused(controller, run_request(label="typo", variables={"sample_cuont": 24}))
    assert [e["field"] for e in error.details["errors"]] == ["variables.sample_cuont"]
    assert "sample_count" in error.details["errors"][0]["message"]  # it lists what is known
