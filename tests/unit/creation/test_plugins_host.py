"""The plugin host against a real worker process and a plugin that misbehaves on
purpose (plugins_fixtures/faulty): every fault becomes a result value, nothing hangs,
nothing is left running, and nothing is written outside the destination."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from plugin_helpers import (
    cancel_and_check_group_killed,
    fixture_manifest,
    make_payload,
    matching,
    process_gone,
    wait_until,
)

from tray_app.creation.fields import Field, field_to_dict
from tray_app.creation.plugins import host
from tray_app.creation.plugins.host import DEFAULT_OUTPUT_CAP, run_plugin, worker_command

MIB = 1024 * 1024


@pytest.fixture
def destination(tmp_path: Path) -> Path:
    folder = tmp_path / "Run_2026-01-02T03-04-05"
    folder.mkdir()
    return folder


@pytest.fixture
def outside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder outside both the destination and the worker's temp folder.

    pytest's tmp_path lives in the system temp folder, which the guard allows,
    so the worker gets its own TMPDIR and "outside" is a sibling of it."""
    worker_tmp = tmp_path / "worker-tmp"
    worker_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(worker_tmp))
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


async def run_mode(destination: Path, mode: str, **variables: Any) -> host.PluginResult:
    overrides = variables.pop("manifest", {})
    return await run_plugin(
        fixture_manifest(**overrides), make_payload(destination, {"mode": mode, **variables}),
        destination,
    )  # fmt: skip


def run_worker(
    command: list[str], stdin: bytes | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Start a worker by hand (bounded) with the environment the host gives it."""
    return subprocess.run(
        command,
        input=stdin,
        capture_output=True,
        timeout=30,
        cwd=cwd,
        env=host.worker_env(),
        check=False,
    )


async def test_timeout_kills_a_sleeping_plugin(destination: Path) -> None:
    started = time.monotonic()
    result = await run_mode(destination, "sleep", manifest={"timeout_s": 0.6})
    elapsed = time.monotonic() - started
    assert result.status == "timeout"
    assert "0.6 s" in result.message
    assert 0.6 <= elapsed < 3.0


async def test_hard_exit_is_a_crash_with_the_stderr_tail(destination: Path) -> None:
    result = await run_mode(destination, "exit")
    assert result.status == "crashed"
    assert "exited with code 3" in result.message
    assert "about to exit hard" in result.message


async def test_exception_is_an_error_value_without_traceback_on_stdout(destination: Path) -> None:
    result = await run_mode(destination, "raise")
    assert result.status == "error"
    assert result.message == "ValueError: the plate reader file is missing"
    assert "Traceback" in result.log  # the traceback is kept for the log, not the envelope


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("sys_exit", "SystemExit: plugin called sys.exit(4)"),
        ("non_dict", "plugin run() returned list, expected a dict"),
        ("not_json", "plugin result cannot be sent as JSON"),
    ],
)
async def test_plugin_mistakes_are_error_values(
    destination: Path, mode: str, expected: str
) -> None:
    result = await run_mode(destination, mode)
    assert result.status == "error"
    assert expected in result.message


async def test_garbage_on_the_envelope_channel_is_bad_output(destination: Path) -> None:
    result = await run_mode(destination, "garbage")
    assert result.status == "bad_output"
    assert "not JSON" in result.message


@pytest.mark.parametrize(
    ("envelope", "expected"),
    [
        ({"status": "done"}, "malformed"),
        ({"status": "ok", "files": 5}, "malformed"),
        ({"status": "error"}, "malformed"),
        ({"status": "ok", "files": ["../../etc/passwd"]}, "outside the destination"),
        ({"status": "ok", "files": ["/etc/passwd"]}, "outside the destination"),
        ({"status": "input_required", "reason": "x", "fields": []}, "at least one field"),
        (
            {
                "status": "input_required",
                "reason": "x",
                "fields": [{"id": "p", "label": "Plate", "type": "choice"}],
            },
            "needs a non-empty 'options' list",
        ),
    ],
)
async def test_wrong_shaped_envelopes_are_bad_output(
    destination: Path, envelope: dict[str, Any], expected: str
) -> None:
    result = await run_mode(destination, "wrong_shape", envelope=envelope)
    assert result.status == "bad_output"
    assert expected in result.message


async def test_input_required_fields_come_back_checked_and_complete(destination: Path) -> None:
    envelope = {
        "status": "input_required",
        "reason": "Which plate?",
        "fields": [{"id": "plate", "label": "Plate", "type": "choice", "options": ["96", "384"]}],
    }
    result = await run_mode(destination, "wrong_shape", envelope=envelope)
    assert result.status == "input_required"
    assert result.reason == "Which plate?"
    # Typed once, here: the controller keeps these and the dialog draws them.
    assert result.fields == [Field(id="plate", label="Plate", type="choice", options=["96", "384"])]
    assert [field_to_dict(f) for f in result.fields] == [
        {
            "id": "plate", "label": "Plate", "type": "choice", "required": False,
            "default": None, "options": ["96", "384"], "hint": None, "pattern": None,
            "min": None, "max": None,
        }
    ]  # fmt: skip


async def test_envelope_over_one_mib_is_read_whole(destination: Path) -> None:
    size = 3 * MIB
    result = await run_mode(destination, "big", size=size)
    assert result.status == "ok", result.message
    assert len(result.data["blob"]) == size


async def test_output_over_the_cap_is_refused_and_the_worker_killed(destination: Path) -> None:
    result = await run_mode(destination, "big", size=DEFAULT_OUTPUT_CAP + MIB)
    assert result.status == "output_too_large"
    assert str(DEFAULT_OUTPUT_CAP) in result.message


async def test_prints_and_child_output_do_not_corrupt_the_envelope(destination: Path) -> None:
    result = await run_mode(destination, "noisy")
    assert result.status == "ok"
    assert result.message == "quiet envelope"
    for text in ("hello from print", "native write to fd 1", "child process output"):
        assert text in result.log


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is only enforced on Linux")
async def test_memory_limit_applies(destination: Path) -> None:
    result = await run_mode(destination, "memory", bytes=1024 * MIB, manifest={"memory_mb": 128})
    assert result.status == "error"
    assert result.message.startswith("MemoryError")


async def test_a_lingering_thread_does_not_hold_the_run(destination: Path) -> None:
    started = time.monotonic()
    result = await run_mode(destination, "linger")
    assert result.status == "ok"
    assert time.monotonic() - started < 5


async def test_a_child_left_running_is_killed_after_the_run(destination: Path) -> None:
    started = time.monotonic()
    result = await run_mode(destination, "orphan")
    assert result.status == "ok"
    assert time.monotonic() - started < 5  # not held until the 10 s timeout
    worker_pid, child_pid = map(int, (destination / "pids.txt").read_text().split())
    await wait_until(lambda: process_gone(child_pid) and process_gone(worker_pid), within=5)


async def test_cancellation_kills_the_whole_process_group_at_once(destination: Path) -> None:
    task = asyncio.create_task(run_mode(destination, "grandchild"))
    await cancel_and_check_group_killed(task, destination / "pids.txt")


@pytest.mark.parametrize(
    ("how", "victim"),
    [
        ("write", "escaped.txt"),
        ("mkdir", "newdir"),
        ("rename_out", "moved.txt"),
        ("symlink", "via_link.txt"),
        ("append_fd", "appended.txt"),
    ],
)
async def test_writes_outside_the_destination_are_refused(
    destination: Path, outside: Path, how: str, victim: str
) -> None:
    target = outside / "escaped.txt" if how == "write" else outside
    result = await run_mode(destination, "escape", how=how, outside=str(target))
    assert result.status == "escaped", result.message
    assert "outside the destination" in result.message
    assert not (outside / victim).exists()
    assert result.data["attempts"]


async def test_removing_a_file_outside_is_refused(destination: Path, outside: Path) -> None:
    keep = outside / "keep.txt"
    keep.write_text("precious")
    result = await run_mode(destination, "escape", how="remove", outside=str(outside))
    assert result.status == "escaped"
    assert keep.read_text() == "precious"


async def test_the_guard_still_holds_after_the_result_is_sent(
    destination: Path, outside: Path
) -> None:
    late = outside / "late.txt"
    result = await run_mode(destination, "atexit", outside=str(late))
    assert result.status == "ok"
    assert not late.exists()
    assert "PermissionError" in result.log


async def test_writes_inside_the_destination_and_temp_are_allowed(
    destination: Path, outside: Path
) -> None:
    result = await run_mode(destination, "inside")
    assert result.status == "ok", result.message
    assert result.files == ["b.txt"]
    assert (destination / "b.txt").read_text() == "inside"
    assert not matching(destination, "__pycache__")


async def test_missing_destination_is_an_error_value(tmp_path: Path) -> None:
    result = await run_plugin(
        fixture_manifest(), make_payload(tmp_path / "gone", {"mode": "raise"}), tmp_path / "gone"
    )
    assert result.status == "error"
    assert "destination folder" in result.message
    assert "cannot be entered" in result.message


def test_worker_command_from_source_and_frozen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = fixture_manifest()
    host_pid = ["--host-pid", str(os.getpid())]
    source = worker_command(manifest, tmp_path)
    assert source[:3] == [sys.executable, "-m", "tray_app.creation.plugins.worker"]
    spare = worker_command()  # learns its plugin from stdin
    assert spare == [*source[:3], *host_pid]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    frozen = worker_command(manifest, tmp_path)
    assert frozen[:2] == [sys.executable, "--plugin-worker"]
    assert frozen[2:] == source[3:]
    assert worker_command() == [sys.executable, "--plugin-worker", *host_pid]


async def test_frozen_style_entry_runs_through_exlab_tray(
    destination: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The packaged binary re-enters itself with --plugin-worker: exercise that path
    with the installed ``exlab-tray`` entry point standing in for the frozen binary."""
    launcher = Path(sys.executable).with_name("exlab-tray")
    if not launcher.exists():
        pytest.skip("exlab-tray entry point not installed in this environment")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(launcher))
    result = await run_mode(destination, "wrong_shape", envelope={"status": "ok", "message": "hi"})
    assert result.status == "ok", result.message
    assert result.message == "hi"


def test_worker_with_bad_arguments_exits_2_and_prints_nothing(tmp_path: Path) -> None:
    done = run_worker([sys.executable, "-m", "tray_app.creation.plugins.worker", "--bogus"])
    assert done.returncode == 2
    assert done.stdout == b""
    assert b"bad arguments" in done.stderr


def test_worker_answers_a_bad_payload_with_one_error_envelope(tmp_path: Path) -> None:
    manifest = fixture_manifest()
    done = run_worker(worker_command(manifest, tmp_path), b"[not json", cwd=tmp_path)
    assert done.returncode == 0
    envelope = json.loads(done.stdout)
    assert envelope["status"] == "error"
    assert "payload that is not JSON" in envelope["message"]


BAD_CALLS: dict[str, Any] = {
    "no plugin spec": lambda spec: {"payload": {}},
    "bad plugin spec (destination, name, timeout_s, memory_mb)": lambda spec: {
        "plugin": {"dir": spec["dir"], "entry": "plugin.py"},
        "payload": {},
    },
    "bad plugin spec (timeout_s)": lambda spec: {
        "plugin": {**spec, "timeout_s": -1},
        "payload": {},
    },
    "payload that is not a JSON object": lambda spec: {"plugin": spec, "payload": [1]},
}


@pytest.mark.parametrize("expected", list(BAD_CALLS))
def test_a_spare_answers_a_bad_call_with_one_error_envelope(tmp_path: Path, expected: str) -> None:
    """The stdin form: the spec travels with the payload and the worker checks it."""
    spec = host.plugin_call(fixture_manifest(), {}, tmp_path)["plugin"]
    done = run_worker(host.worker_command(), json.dumps(BAD_CALLS[expected](spec)).encode())
    assert done.returncode == 0
    envelope = json.loads(done.stdout)
    assert envelope["status"] == "error"
    assert expected in envelope["message"]


def test_argv_form_takes_paths_relative_to_where_it_starts(tmp_path: Path) -> None:
    """Trying a plugin by hand (README): relative paths still work after the worker
    has moved into the destination folder."""
    (tmp_path / "out").mkdir()
    plugin_dir = os.path.relpath(fixture_manifest().path, tmp_path)
    envelope = {"status": "ok", "message": "by hand"}
    payload = make_payload(tmp_path / "out", {"mode": "wrong_shape", "envelope": envelope})
    argv = ["--plugin-dir", plugin_dir, "--destination", "out"]
    done = run_worker(
        [sys.executable, "-m", host.WORKER_MODULE, *argv], json.dumps(payload).encode(), tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == envelope


async def test_output_far_over_the_cap_does_not_stall_the_run(destination: Path) -> None:
    # The worker is still writing when the cap trips: unless the host drains the
    # pipe, its paused transport never sees EOF and the run waits for the timeout.
    started = time.monotonic()
    result = await run_mode(
        destination, "big", size=8 * DEFAULT_OUTPUT_CAP, manifest={"timeout_s": 30.0}
    )
    assert result.status == "output_too_large"
    assert time.monotonic() - started < 15
