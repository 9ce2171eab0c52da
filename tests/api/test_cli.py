"""The exlab-tray CLI against the real service, run in a worker thread (its own loop)."""

from __future__ import annotations

import asyncio
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.api.in_process_cli import run_cli
from tray_app import cli, paths
from tray_app.api.runtime_file import RuntimeInfo, write_runtime_info
from tray_app.api.service import ExlabService

ANSWERS = {"sample_count": 8, "plate_type": "96-well", "prep_date": "2026-01-05"}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


async def new_project(capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_cli("new", "project", "-e", "DEMO", "-p", "Demo", "-o", "ana", "--watch") == 0
    capsys.readouterr()


async def new_run(capsys: pytest.CaptureFixture[str], label: str) -> dict[str, Any]:
    """In the project of :func:`new_project`, open run ``label`` (``--json``): its handle."""
    assert (
        await run_cli("new", "run", "-e", "DEMO", "-p", "Demo", "-o", "a", "-l", label, "--json")
        == 0
    )
    handle: dict[str, Any] = json.loads(capsys.readouterr().out)
    return handle


async def test_no_running_instance_is_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_cli("list") == 3
    assert "no running ExLab Tray found" in capsys.readouterr().err
    # A live pid (ours) with nothing listening: still no instance, never a traceback.
    write_runtime_info(
        RuntimeInfo(url="http://127.0.0.1:9", port=9, pid=os.getpid(), token="t", version="0",
                    started_at=""),
        paths.runtime_file_path(),
    )  # fmt: skip
    assert await run_cli("show", "x", "--json") == 3
    captured = capsys.readouterr()
    assert "no running ExLab Tray found" in captured.err
    assert "Traceback" not in captured.err + captured.out


@pytest.mark.parametrize(
    "argv",
    [
        ["new", "run", "-e", "DEMO", "-p", "P", "-o", "o"],  # --label missing
        ["frobnicate"],
        ["cancel"],
        ["new", "run", "-e", "DEMO", "-p", "P", "-o", "o", "-l", "x", "--var", "novalue"],
        ["watch", "some-id", "--answers", "/does/not/exist.json"],
    ],
)
async def test_usage_errors_are_exit_2_before_any_connection(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_cli(*argv) == 2  # not 3: nothing is running, and it never got that far
    assert "Traceback" not in capsys.readouterr().err


async def test_new_run_watched_with_an_answers_file_ends_done(
    service: ExlabService, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await new_project(capsys)
    answers = write(tmp_path / "answers.json", json.dumps({**ANSWERS, "unrelated": 1}))
    code = await run_cli(
        "new", "run", "-e", "DEMO", "-p", "Demo", "-o", "ana", "-l", "plate",
        "--objective", "check", "--watch", "--answers", str(answers),
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Needs input: plate_map asks" in out
    assert "Done: " in out
    done_path = Path(out.split("Done: ")[1].split(" (NAS sync")[0])
    assert (done_path / "plate_map.csv").is_file()


async def test_watch_json_with_a_toml_answers_file_scoped_by_plugin(
    service: ExlabService, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await new_project(capsys)
    handle = await new_run(capsys, "t")
    answers = write(
        tmp_path / "answers.toml",
        '[plate_map]\nsample_count = 4\nplate_type = "384-well"\nprep_date = "2026-01-06"\n',
    )
    assert await run_cli("watch", handle["session_id"], "--answers", str(answers), "--json") == 0
    frames = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = [frame["kind"] for frame in frames]
    assert kinds[0] == "snapshot"
    assert "input_required" in kinds or frames[0]["session"]["state"] == "input_required"
    assert kinds[-1] == "done"


async def test_watch_prompts_on_the_terminal_and_reasks_refused_fields(
    service: ExlabService, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await new_project(capsys)
    session_id = (await new_run(capsys, "i"))["session_id"]
    # sample_count, plate_type (default), prep_date (bad), controls, notes; then the fix.
    typed = "12\n\n2026-02-31\nno\n\n2026-02-03\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    assert await run_cli("watch", session_id) == 0
    captured = capsys.readouterr()
    assert "Number of samples (whole number, 1..384, required)" in captured.err
    # The refusal names the field by its label, then the question comes again.
    assert "Preparation date: is not a real date" in captured.err
    assert captured.err.count("Preparation date (date YYYY-MM-DD") == 2
    assert "Done: " in captured.out
    handle = service.store.get(session_id)
    assert handle is not None and handle.result is not None


async def test_watch_gives_up_cleanly_when_the_terminal_closes(
    service: ExlabService, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await new_project(capsys)
    session_id = (await new_run(capsys, "e"))["session_id"]
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert await run_cli("watch", session_id) == 1
    assert "still waiting" in capsys.readouterr().err
    assert service.store.get(session_id).state == "input_required"  # type: ignore[union-attr]


async def test_answer_list_show_cancel(
    service: ExlabService, capsys: pytest.CaptureFixture[str]
) -> None:
    await new_project(capsys)
    first = (await new_run(capsys, "x"))["session_id"]
    assert await run_cli("new", "run", "-e", "DEMO", "-p", "Demo", "-o", "a", "-l", "y") == 0
    assert "Opened session" in capsys.readouterr().out

    async def until_waiting(session_id: str) -> None:
        async with asyncio.timeout(30):
            while service.store.get(session_id).state != "input_required":  # type: ignore[union-attr]  # noqa: ASYNC110
                await asyncio.sleep(0.02)

    await until_waiting(first)
    assert await run_cli("list", "--state", "input_required", "--json") == 0
    listed = json.loads(capsys.readouterr().out)["sessions"]
    assert first in [h["session_id"] for h in listed]
    assert await run_cli("show", first) == 0
    assert "plate_map asks" in capsys.readouterr().out

    assert await run_cli("answer", first, "sample_count=999", "plate_type=96-well",
                         "prep_date=2026-01-05") == 2  # fmt: skip
    assert "Number of samples: must be at most 384" in capsys.readouterr().err
    assert await run_cli("answer", first, "sample_count=9", "plate_type=96-well",
                         "prep_date=2026-01-05", "--json") == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["session_id"] == first
    assert await run_cli("watch", first) == 0
    capsys.readouterr()

    second = next(s.session_id for s in service.store.sessions() if "'y'" in s.title)
    assert await run_cli("cancel", second, "--discard") == 0
    assert "Cancelled session" in capsys.readouterr().out
    assert await run_cli("watch", second) == 1
    assert "Cancelled by the operator." in capsys.readouterr().out
    assert await run_cli("show", second, "--json") == 1
    assert json.loads(capsys.readouterr().out)["state"] == "aborted"
    assert await run_cli("cancel", second) == 1
    assert "session_already_completed" in capsys.readouterr().err
    assert await run_cli("show", "nope", "--json") == 1
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "session_not_found"
    assert await run_cli("watch", "nope") == 1
    assert "No session with id 'nope'" in capsys.readouterr().err


async def test_a_refused_request_prints_the_reason_and_exits_2(
    service: ExlabService, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_cli("new", "run", "-e", "DEMO", "-p", "Nowhere", "-o", "a", "-l", "x") == 2
    err = capsys.readouterr().err
    assert "validation_failed" in err and "Nowhere" in err
    assert service.store.sessions() == []  # and it left no failed session behind


def test_variables_are_json_when_they_parse() -> None:
    assert cli.parse_variables(["n=3", "flag=true", "name=abc", 'code="007"', "raw=007"]) == {
        "n": 3, "flag": True, "name": "abc", "code": "007", "raw": "007",
    }  # fmt: skip


def test_answers_for_a_prompt_keep_only_its_fields() -> None:
    prompt: dict[str, Any] = {"plugin": "p", "fields": [{"id": "a"}, {"id": "b"}]}
    assert cli.answers_for_prompt({"a": 1, "c": 3, "p": {"b": 2}}, prompt) == {"a": 1, "b": 2}


async def test_a_session_cancelled_elsewhere_ends_the_questions_at_once(
    service: ExlabService, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await new_project(capsys)
    session_id = (await new_run(capsys, "c"))["session_id"]
    read_end, write_end = os.pipe()  # a terminal where nobody types
    with os.fdopen(read_end) as silent_stdin:
        monkeypatch.setattr("sys.stdin", silent_stdin)
        watching = asyncio.ensure_future(run_cli("watch", session_id))
        store = service.store
        async with asyncio.timeout(30):
            while not (  # noqa: ASYNC110 - waiting on another thread's socket
                store.subscriber_count(session_id) == 1
                and store.get(session_id).state == "input_required"  # type: ignore[union-attr]
            ):
                await asyncio.sleep(0.02)
        await service.controller.cancel(session_id)
        assert await asyncio.wait_for(watching, 10) == 1
        os.close(write_end)
    captured = capsys.readouterr()
    assert "Cancelled by the operator." in captured.out
