"""The CLI in the tray's words, with the same checks as every front end: field problems by
label and once, refusals exit 2, ``watch`` repeats the question it joins, ``--answers``
takes the API's form too, and an argument that is not valid text is named."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.in_process_cli import run_cli
from tray_app.api.service import ExlabService
from tray_app.sessions.states import SessionState


async def waiting_run(service: ExlabService, capsys: pytest.CaptureFixture[str]) -> str:
    assert await run_cli("new", "project", "-e", "DEMO", "-p", "Demo", "-o", "ana", "--watch") == 0
    capsys.readouterr()
    new_run = ("new", "run", "-e", "DEMO", "-p", "Demo", "-o", "a", "-l", "w", "--json")
    assert await run_cli(*new_run) == 0
    sid: str = json.loads(capsys.readouterr().out)["session_id"]
    while service.store.get(sid).state is not SessionState.INPUT_REQUIRED:  # type: ignore[union-attr]  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    return sid


async def test_refused_answers_are_named_by_label_once_and_exit_2(
    service: ExlabService, capsys: pytest.CaptureFixture[str]
) -> None:
    sid = await waiting_run(service, capsys)
    bad = ("sample_count=999", "plate_type=96-well", "prep_date=2026-02-31")
    assert await run_cli("answer", sid, *bad) == 2
    err = capsys.readouterr().err
    assert "Number of samples: must be at most 384" in err
    assert "Preparation date: is not a real date" in err
    assert "sample_count:" not in err  # ids are for programs (--json), not people
    assert err.count("Number of samples") == 1  # the list is printed once
    assert await run_cli("list") == 0
    listed = capsys.readouterr().out
    assert "Needs input" in listed and "input_required" not in listed


async def test_watch_repeats_the_question_and_takes_the_apis_answers_form(
    service: ExlabService, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sid = await waiting_run(service, capsys)
    answers = tmp_path / "answers.json"
    body = {"answers": {"sample_count": 8, "plate_type": "96-well", "prep_date": "2026-01-05"}}
    answers.write_text(json.dumps(body), encoding="utf-8")
    assert await run_cli("watch", sid, "--answers", str(answers)) == 0
    out = capsys.readouterr().out
    # Joined while it waits: the question it waits on is said before it is answered.
    assert "Needs input: plate_map asks: The plate map needs the number of samples" in out
    assert "Done: " in out


def test_watch_help_describes_the_answers_file() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tray_app", "watch", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert '{"sample_count": 8, "plate_type": "96-well"}' in text
    assert '{"answers": {...}}' in text and "plugin" in text


def test_an_argument_that_is_not_text_is_named(tmp_path: Path) -> None:
    env = {**os.environ, "EXLAB_TRAY_HOME": str(tmp_path), "LC_ALL": "C.UTF-8"}
    result = subprocess.run(
        [sys.executable.encode(), b"-m", b"tray_app", b"new", b"project", b"-e", b"DEMO",
         b"-p", b"Demo", b"--operator", b"an\xffa"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--operator is not valid text: byte 0xff at position 3 is not UTF-8" in result.stderr
    assert "surrogate" not in result.stderr and "Traceback" not in result.stderr
