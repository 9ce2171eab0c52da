"""The report for support: what goes in the zip, and that secrets stay out."""

from __future__ import annotations

import json
import stat
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from tray_app import logs, paths
from tray_app.config import load_settings
from tray_app.creation.sync import DB_NAME, Code, JobStatus, Reason, SyncJob
from tray_app.creation.sync.db import QueueDB
from tray_app.support_report import (
    REDACTED,
    ReportInputs,
    redact,
    redact_toml_text,
    write_report,
)

AT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

SETTINGS = """\
# Lab settings
local_root = "~/ExLab"
nas_root = "sftp://labsync:hunter2@nas.lab/ExLab"   # the NAS
log_level = "debug"
# old_password = "letmein"

[notifications]
needs_input = false
"""


def test_redaction_removes_secret_values_and_url_passwords_and_keeps_the_rest() -> None:
    text = redact_toml_text(
        SETTINGS + 'rclone = { remote = "lab", pass = "s3cret", token = \'t0k\' }\n'
    )
    for secret in ("hunter2", "letmein", "s3cret", "t0k"):
        assert secret not in text
    assert 'nas_root = "sftp://labsync:<removed>@nas.lab/ExLab"   # the NAS' in text
    assert f'# old_password = "{REDACTED}"' in text
    assert 'remote = "lab"' in text and "[notifications]" in text
    assert redact({"sync": {"api_key": "k", "user": "u", "urls": ["https://a:b@h/x"]}}) == {
        "sync": {"api_key": REDACTED, "user": "u", "urls": [f"https://a:{REDACTED}@h/x"]}
    }


def test_the_report_holds_logs_settings_versions_sessions_and_sync_jobs(tmp_path: Path) -> None:
    settings_file = paths.settings_path()
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text(SETTINGS)
    loaded = load_settings()
    assert loaded.problems == []
    logs.log_file().parent.mkdir(parents=True, exist_ok=True)
    logs.log_file().write_text("2026-11-27 INFO tray_app: hello from the log\n")
    logs.log_file().with_name("exlab-tray.log.1").write_text("older\n")
    logs.append_plugin_log(
        "sid-1", plugin="plate_map", attempt=1, status="crashed", duration_s=0.1,
        stderr="Traceback: ZeroDivisionError\n", at=AT,
    )  # fmt: skip
    queue = QueueDB(paths.state_dir() / DB_NAME)
    queue.put([
        SyncJob(id="j1", status=JobStatus.SYNCED, source="/a", root="/n", relative="a",
                queued_at=AT),
        SyncJob(id="j2", status=JobStatus.FAILED, source="/b", root="/n", relative="b",
                queued_at=AT, session_id="sid-1",
                reason=Reason(Code.NOT_REACHABLE, "NAS not mounted", transient=False)),
    ])  # fmt: skip
    queue.close()
    sessions = [
        {"session_id": "sid-1", "kind": "run", "state": "failed", "current_phase": None,
         "created_at": "2026-11-27T08:00:00Z", "error": {"code": "plugin_failed",
         "message": "Plugin 'plate_map': crashed"}, "result": None,
         "pending_input": {"answers": {"operator_pin": "1234"}}},
        {"session_id": "sid-2", "kind": "project", "state": "done", "current_phase": "done",
         "created_at": "2026-11-27T07:00:00Z", "error": None, "result": {"path": "/x"},
         "destination": "/x"},
    ]  # fmt: skip
    inputs = ReportInputs(
        made_by="test",
        sessions=sessions,
        qt={"qt": "6.x", "pyside6": "6.x"},
        settings=loaded.settings,
        settings_file=loaded.path,
        now=AT,
    )
    target = write_report(tmp_path / "out" / "report.zip", inputs)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
        assert {
            "summary.txt",
            "versions.json",
            "sessions.json",
            "sync-jobs.json",
            "settings/user-settings.toml",
            "settings/effective.json",
            "logs/exlab-tray.log",
            "logs/exlab-tray.log.1",
            "logs/plugins/sid-1.log",
        } <= names
        everything = b"".join(archive.read(name) for name in names)
        summary = archive.read("summary.txt").decode()
        versions = json.loads(archive.read("versions.json"))
        sync = json.loads(archive.read("sync-jobs.json"))
        effective = json.loads(archive.read("settings/effective.json"))
        listed = json.loads(archive.read("sessions.json"))
    assert b"hunter2" not in everything and b"1234" not in everything
    assert b"hello from the log" in everything and b"ZeroDivisionError" in everything
    assert (
        versions["app"]
        and versions["python"]
        and versions["qt"]
        == {
            "qt": "6.x",
            "pyside6": "6.x",
        }
    )
    assert "desktop" in versions and versions["report_made_at"] == AT.isoformat()
    assert listed["by_state"] == {"done": 1, "failed": 1}
    assert sync["by_status"] == {"failed": 1, "synced": 1}
    assert sync["problems"][0]["error"] == "NAS not mounted"
    assert effective["log_level"] == "debug"
    assert effective["notifications"]["needs_input"] is False
    assert "Sessions: 2 (1 done, 1 failed)" in summary
    assert "Plugin 'plate_map': crashed" in summary
    assert "NAS sync jobs: 2 (1 failed, 1 synced)" in summary


def test_without_a_running_instance_or_queue_the_report_says_so(tmp_path: Path) -> None:
    inputs = ReportInputs(made_by="test", sessions_note="no running ExLab Tray to ask", now=AT)
    with zipfile.ZipFile(write_report(tmp_path / "r.zip", inputs)) as archive:
        summary = archive.read("summary.txt").decode()
        assert "sessions.json" not in archive.namelist()
    assert "Sessions: not included (no running ExLab Tray to ask)." in summary
    assert "NAS sync: no sync queue on this machine." in summary
