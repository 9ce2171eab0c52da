"""``exlab-tray serve`` as a real subprocess, driven by the real CLI (also subprocesses)."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tray_app import paths
from tray_app.headless import READY_PREFIX

EXE = [sys.executable, "-m", "tray_app"]


def test_serve_path_imports_no_qt_and_no_copier() -> None:
    code = (
        "import sys, tray_app.cli, tray_app.headless, tray_app.api.service, tray_app.api.client\n"
        "tray_app.cli.build_parser()\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'PySide6', 'qasync', 'shiboken6', 'copier', 'yaml', 'jinja2'})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def cli(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EXE, *argv], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def read_ready_line(process: subprocess.Popen[str], limit_s: float = 30.0) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(limit_s):
            raise AssertionError("serve did not become ready")
    return process.stdout.readline()


@pytest.mark.slow
def test_cli_end_to_end_against_exlab_tray_serve(tmp_path: Path) -> None:
    assert cli("list").returncode == 3  # nothing running yet
    stderr_path = tmp_path / "serve.stderr"
    with stderr_path.open("w") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-X", "importtime", "-m", "tray_app", "serve"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        line = read_ready_line(server)
        assert line.startswith(READY_PREFIX), line
        runtime = paths.runtime_file_path()
        assert json.loads(runtime.read_text())["url"] == line[len(READY_PREFIX) :].strip()

        project = cli("new", "project", "-e", "DEMO", "-p", "Demo", "-o", "ana", "--watch")
        assert project.returncode == 0, project.stderr
        answers = tmp_path / "answers.json"
        answers.write_text(
            json.dumps({"sample_count": 10, "plate_type": "96-well", "prep_date": "2026-01-05"})
        )
        run = cli("new", "run", "-e", "DEMO", "-p", "Demo", "-o", "ana", "-l", "e2e", "--watch",
                  "--answers", str(answers))  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        assert "Needs input: plate_map asks" in run.stdout
        assert "Done: " in run.stdout

        listed = cli("list", "--json")
        assert listed.returncode == 0
        assert [h["state"] for h in json.loads(listed.stdout)["sessions"]] == ["done", "done"]

        opened = cli("new", "run", "-e", "DEMO", "-p", "Demo", "-o", "ana", "-l", "gone", "--json")
        session_id = json.loads(opened.stdout)["session_id"]
        cancelled = cli("cancel", session_id, "--discard")
        assert cancelled.returncode == 0, cancelled.stderr
        watched = cli("watch", session_id)
        assert watched.returncode == 1
        assert "Cancelled by the operator." in watched.stdout

        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0
        assert time.monotonic() - started < 5.0
        assert not runtime.exists()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()
    after = cli("list")
    assert after.returncode == 3
    assert "no running ExLab Tray found" in after.stderr
    imported = stderr_path.read_text()
    assert "import time:" in imported  # the check below looked at real data
    for module in ("PySide6", "qasync"):
        assert f" {module}" not in imported, f"serve imported {module}"


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_serve_warns_on_bad_settings_and_refuses_a_second_instance(tmp_path: Path) -> None:
    settings = paths.settings_path()
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text("gc_interval_s = 'often'\n", encoding="utf-8")
    stderr_path = tmp_path / "serve.stderr"
    with stderr_path.open("w") as stderr:
        first = subprocess.Popen([*EXE, "serve"], stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        assert read_ready_line(first).startswith(READY_PREFIX)  # the rest of the file applies
        warnings = stderr_path.read_text()
        assert "WARNING" in warnings
        assert "settings.toml, line 1: `gc_interval_s` must be a number greater than 0" in warnings
        second = cli("serve")
        assert second.returncode == 1
        assert "already running" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=10) == 0
        if first.stdout is not None:
            first.stdout.close()
