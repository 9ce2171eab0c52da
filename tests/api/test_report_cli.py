"""``serve`` logs to the tray's file at the settings' level, and ``exlab-tray report`` writes
the support zip, with the running instance's sessions or without an instance at all."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.api.test_serve_e2e import EXE, cli, read_ready_line
from tray_app import logs, paths
from tray_app.api.runtime_file import RuntimeInfo, write_runtime_info
from tray_app.headless import READY_PREFIX


def test_report_without_a_running_instance(tmp_path: Path) -> None:
    done = cli("report", "--output", str(tmp_path), "--json")
    assert done.returncode == 0, done.stderr
    written = Path(json.loads(done.stdout)["path"])
    assert written.parent == tmp_path and written.name.startswith("exlab-tray-report-")
    with zipfile.ZipFile(written) as archive:
        summary = archive.read("summary.txt").decode()
        versions = json.loads(archive.read("versions.json"))
    assert "Sessions: not included (no running ExLab Tray to ask)." in summary
    assert versions["report_made_by"] == "exlab-tray report"
    assert versions["qt"]["pyside6"]  # the installed Qt, read without a display


def german_report(folder: Path) -> tuple[str, str]:
    """``exlab-tray report`` in German: what the terminal said, and the zip's summary."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    env.update(LANGUAGE="de", LANG="C.UTF-8")
    done = subprocess.run(
        [*EXE, "report", "--output", str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [written] = folder.glob("exlab-tray-report-*.zip")
    with zipfile.ZipFile(written) as archive:
        return done.stdout, archive.read("summary.txt").decode()


def test_why_sessions_are_left_out_is_said_in_german_and_summarized_in_english(
    tmp_path: Path,
) -> None:
    said, summary = german_report(tmp_path)
    assert "(Sitzungen nicht enthalten: kein laufendes ExLab Tray zum Fragen)" in said
    assert "Sessions: not included (no running ExLab Tray to ask)." in summary


def test_an_instance_that_does_not_answer_is_said_in_german_and_english(tmp_path: Path) -> None:
    # A live pid and a socket that takes the connection and never answers.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        info = RuntimeInfo(
            url=f"http://127.0.0.1:{port}/api/v1",
            port=port,
            pid=os.getpid(),
            token="t" * 32,
            version="0",
            started_at="2026-01-01T00:00:00Z",
        )
        write_runtime_info(info)
        said, summary = german_report(tmp_path)
    assert "(Sitzungen nicht enthalten: das laufende ExLab Tray hat nicht geantwortet: " in said
    assert "Sessions: not included (the running ExLab Tray did not answer: " in summary


def test_report_to_a_folder_that_cannot_be_written_says_so(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = cli("report", "--output", str(blocker / "r.zip"))
    assert done.returncode == 1
    assert "cannot write the report" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_serve_logs_to_the_shared_file_and_report_includes_its_sessions(tmp_path: Path) -> None:
    settings = paths.settings_path()
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text('log_level = "debug"\ncolour = "red"\n', encoding="utf-8")
    stderr_path = tmp_path / "serve.stderr"
    with stderr_path.open("w") as stderr:
        server = subprocess.Popen([*EXE, "serve"], stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        assert read_ready_line(server).startswith(READY_PREFIX)
        project = cli("new", "project", "-e", "DEMO", "-p", "Logged", "-o", "ana", "--watch")
        assert project.returncode == 0, project.stderr
        report = cli("report", "-o", str(tmp_path / "r.zip"), "--json")
        assert report.returncode == 0, report.stderr
        assert json.loads(report.stdout)["sessions_included"] is True
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()
    text = logs.log_file().read_text()
    assert "local API listening" in text
    # The settings are read once (by the command line, for its language, and handed on to
    # serve): their problem is logged once, in the file and on stderr.
    assert text.count("there is no setting `colour`") == 1
    assert stderr_path.read_text().count("there is no setting `colour`") == 1
    assert " DEBUG asyncio: Using selector" in text  # the settings' debug level reached the file
    with zipfile.ZipFile(tmp_path / "r.zip") as archive:
        sessions = json.loads(archive.read("sessions.json"))
        sync = json.loads(archive.read("sync-jobs.json"))  # asked of the instance's GET /sync
        logged = archive.read("logs/exlab-tray.log").decode()
    assert sessions["by_state"] == {"done": 1}
    assert sync["total"] == 0  # no NAS configured: no jobs, but the instance said so
    assert "local API listening" in logged


def test_serve_log_level_option_overrides_the_setting() -> None:
    from tray_app.cli import build_parser

    assert build_parser().parse_args(["serve"]).log_level is None
    assert build_parser().parse_args(["serve", "--log-level", "error"]).log_level == "error"
