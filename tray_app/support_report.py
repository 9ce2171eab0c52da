"""The report for support: one zip with the logs, the settings with secrets removed, the
versions of the app, Python, Qt and the desktop, and a summary of sessions and sync jobs.

No Qt here (the caller passes Qt's version in): the tray's "Save a report for support…"
and ``exlab-tray report`` both call :func:`write_report`, which blocks on disk, so the
tray runs it in a thread. The zip is built in memory, then written atomically with mode
0600: logs name people and folders.
"""

from __future__ import annotations

import contextlib
import io
import json
import locale
import os
import platform
import re
import sys
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from tray_app import __version__, fileio, logs, paths

__all__ = [
    "REDACTED",
    "ReportInputs",
    "default_report_name",
    "redact",
    "redact_toml_text",
    "write_report",
]

REDACTED = "<removed>"
#: Setting names whose values are secrets (matched anywhere in the name, any case).
_SECRET_NAME = re.compile(
    r"pass(word|phrase)?|secret|token|api[_-]?key|private[_-]?key|credential|auth|(^|_)key$",
    re.IGNORECASE,
)
#: ``user:password@host`` in any value (URLs, rsync and rclone targets): the password goes.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z0-9._%+-]+:)[^@\s\"'/]+@")
#: ``name = value`` in TOML text (also inside inline tables).
_TOML_ASSIGNMENT = re.compile(
    r"(?P<name>[A-Za-z0-9_\-\"']+)(?P<eq>\s*=\s*)"
    r"(?P<value>\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^,}\s#]+)"
)
#: Plugin logs go in newest first until this many bytes.
PLUGIN_LOGS_BUDGET = 20 * 1024 * 1024
SESSIONS_LISTED = 100
_DESKTOP_VARIABLES = (
    "XDG_CURRENT_DESKTOP",
    "XDG_SESSION_DESKTOP",
    "DESKTOP_SESSION",
    "XDG_SESSION_TYPE",
    "KDE_FULL_SESSION",
    "GNOME_SHELL_SESSION_MODE",
    "QT_QPA_PLATFORM",
    "QT_QPA_PLATFORMTHEME",
)


@dataclass
class ReportInputs:
    """What the caller knows and this module cannot find out by itself.

    ``sessions`` are session handles (``to_handle`` or the API's ``GET /sessions``), or
    None when no running instance could be asked; ``sync_jobs`` None means "read the
    sync queue's file if there is one".
    """

    made_by: str
    sessions: list[dict[str, Any]] | None = None
    sessions_note: str = ""
    sync_jobs: list[dict[str, Any]] | None = None
    qt: dict[str, str] = field(default_factory=dict)
    settings: Any = None
    settings_problems: list[str] = field(default_factory=list)
    settings_file: Path | None = None
    #: The site's folder the settings came from (None: the platform's site config folder).
    site_dir: Path | None = None
    now: datetime | None = None

    @classmethod
    def for_settings(cls, loaded: Any, **known: Any) -> ReportInputs:
        """Inputs with the settings part taken from ``loaded`` (a ``LoadedSettings``)."""
        return cls(
            settings=loaded.settings,
            settings_problems=[str(p) for p in loaded.problems],
            settings_file=loaded.path,
            site_dir=loaded.site_dir,
            **known,
        )


def default_report_name(now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).astimezone()
    host = re.sub(r"[^A-Za-z0-9-]+", "-", platform.node() or "host").strip("-") or "host"
    return f"exlab-tray-report-{host}-{moment:%Y%m%d-%H%M%S}.zip"


# ---- secrets out ---------------------------------------------------------------------------


def redact(value: Any, name: str = "") -> Any:
    """``value`` with every secret-named entry replaced and URL passwords removed."""
    if name and _SECRET_NAME.search(name) and value not in (None, "", [], {}):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return _URL_PASSWORD.sub(rf"\g<head>{REDACTED}@", value)
    return value


def redact_toml_text(text: str) -> str:
    """The settings file as written (comments kept), with secret values replaced."""

    def assignment(match: re.Match[str]) -> str:
        name = match.group("name").strip("\"'")
        if _SECRET_NAME.search(name):
            return f'{match.group("name")}{match.group("eq")}"{REDACTED}"'
        return match.group(0)

    # Commented-out lines too: an old password left in a comment is still a password.
    text = _TOML_ASSIGNMENT.sub(assignment, text)
    return _URL_PASSWORD.sub(rf"\g<head>{REDACTED}@", text)


# ---- the parts -----------------------------------------------------------------------------


def versions(inputs: ReportInputs) -> dict[str, Any]:
    now = inputs.now or datetime.now(UTC)
    return {
        "report_made_at": now.isoformat(),
        "report_made_by": inputs.made_by,
        "app": __version__,
        "python": sys.version,
        "python_executable": sys.executable,
        "frozen": bool(getattr(sys, "frozen", False)),
        "platform": platform.platform(),
        "os": _os_release(),
        "qt": dict(inputs.qt),
        "desktop": {name: os.environ[name] for name in _DESKTOP_VARIABLES if name in os.environ},
        "display": {
            "DISPLAY": bool(os.environ.get("DISPLAY")),
            "WAYLAND_DISPLAY": bool(os.environ.get("WAYLAND_DISPLAY")),
        },
        "locale": list(locale.getlocale()),
        "language": os.environ.get("LANGUAGE") or os.environ.get("LANG") or "",
        "folders": {
            "config": str(paths.config_dir()),
            "state": str(paths.state_dir()),
            "data": str(paths.data_dir()),
            "logs": str(paths.log_dir()),
        },
    }


def _os_release() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    return platform.system()


def session_summary(handles: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts by state and the newest sessions in brief (no answers, no variables)."""
    states = Counter(str(h.get("state")) for h in handles)
    listed = []
    for handle in handles[:SESSIONS_LISTED]:
        entry: dict[str, Any] = {
            key: handle.get(key)
            for key in ("session_id", "kind", "state", "current_phase", "created_at")
        }
        error = handle.get("error") or {}
        result = handle.get("result") or {}
        if error:
            entry["error"] = {k: error.get(k) for k in ("code", "message", "field") if k in error}
        elif handle.get("state") == "aborted":
            entry["reason"] = result.get("code")
        if handle.get("destination"):
            entry["destination"] = handle.get("destination")
        listed.append(entry)
    return {"total": len(handles), "by_state": dict(sorted(states.items())), "newest": listed}


def sync_summary(jobs: list[dict[str, Any]]) -> dict[str, Any]:
    statuses = Counter(str(j.get("status")) for j in jobs)
    problems = [
        {k: j.get(k) for k in ("id", "session_id", "status", "error", "target", "queued_at")}
        for j in jobs
        if j.get("error") or j.get("status") in ("failed", "waiting")
    ]
    return {"total": len(jobs), "by_status": dict(sorted(statuses.items())), "problems": problems}


def read_sync_jobs() -> list[dict[str, Any]] | None:
    """The NAS sync queue's jobs from its database, or None when there is no queue."""
    import sqlite3

    from tray_app.creation.sync import DB_NAME
    from tray_app.creation.sync.db import read_jobs

    path = paths.state_dir() / DB_NAME
    try:
        jobs = read_jobs(path)
    except sqlite3.Error as exc:
        return [{"status": "unreadable", "error": f"{path}: {exc}"}]
    if jobs is None:
        return None
    listed = []
    for job in jobs:
        entry = msgspec.to_builtins(job)
        entry["target"] = job.target
        entry["error"] = job.reason.message if job.reason else None
        listed.append(entry)
    return listed


def summary_text(
    versions_: dict[str, Any], sessions: dict[str, Any] | None, note: str, sync: Any
) -> str:
    """The summary a person reads first."""
    lines = [
        f"ExLab Tray {versions_['app']} report, made {versions_['report_made_at']}"
        f" by {versions_['report_made_by']}",
        f"Python {versions_['python'].split()[0]}, Qt {versions_['qt'].get('qt', 'not loaded')},"
        f" {versions_['os']}",
        f"Desktop: {versions_['desktop'].get('XDG_CURRENT_DESKTOP', 'unknown')}"
        f" ({versions_['desktop'].get('XDG_SESSION_TYPE', 'unknown session type')})",
        "",
    ]
    if sessions is None:
        lines.append(f"Sessions: not included ({note or 'no running ExLab Tray'}).")
    else:
        counts = ", ".join(f"{n} {state}" for state, n in sessions["by_state"].items())
        lines.append(f"Sessions: {sessions['total']}" + (f" ({counts})" if counts else ""))
        for entry in sessions["newest"][:20]:
            problem = entry.get("error", {}).get("message") or entry.get("reason") or ""
            lines.append(
                f"  {entry['created_at']}  {entry['state']:<15} {entry['session_id']}"
                + (f"  {problem}" if problem else "")
            )
    lines.append("")
    if sync is None:
        lines.append("NAS sync: no sync queue on this machine.")
    else:
        counts = ", ".join(f"{n} {status}" for status, n in sync["by_status"].items())
        lines.append(f"NAS sync jobs: {sync['total']}" + (f" ({counts})" if counts else ""))
        for job in sync["problems"][:20]:
            lines.append(f"  {job.get('status')}: {job.get('id')} {job.get('error') or ''}")
    return "\n".join(lines) + "\n"


# ---- writing -------------------------------------------------------------------------------


def write_report(target: Path, inputs: ReportInputs) -> Path:
    """Write the report zip to ``target`` (atomically, mode 0600) and return its path.

    Blocking. Raises ``OSError`` when the target folder cannot be written.
    """
    target = Path(target).expanduser()
    info = versions(inputs)
    sessions = None if inputs.sessions is None else session_summary(inputs.sessions)
    jobs = inputs.sync_jobs if inputs.sync_jobs is not None else read_sync_jobs()
    sync = None if jobs is None else sync_summary(redact(jobs))
    members: list[tuple[str, bytes]] = [
        ("summary.txt", summary_text(info, sessions, inputs.sessions_note, sync).encode()),
        ("versions.json", _json(info)),
    ]
    if sessions is not None:
        members.append(("sessions.json", _json(redact(sessions))))
    if sync is not None:
        members.append(("sync-jobs.json", _json(sync)))
    members.extend(_settings_members(inputs))
    members.extend(_log_members())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    fileio.atomic_write_bytes(target, buffer.getvalue(), mode=0o600)
    return target


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False).encode()


def _settings_members(inputs: ReportInputs) -> Iterable[tuple[str, bytes]]:
    files = {
        "settings/user-settings.toml": inputs.settings_file or paths.settings_path(),
        "settings/site-settings.toml": paths.site_settings_path(inputs.site_dir),
    }
    for name, path in files.items():
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        yield name, (f"# from {path}, secrets removed\n" + redact_toml_text(text)).encode()
    if inputs.settings is not None:
        effective = redact(msgspec.to_builtins(inputs.settings))
        yield "settings/effective.json", _json(effective)
    if inputs.settings_problems:
        yield "settings/problems.txt", ("\n".join(inputs.settings_problems) + "\n").encode()


def _log_members() -> Iterable[tuple[str, bytes]]:
    for path in logs.log_files():
        with contextlib.suppress(OSError):
            yield f"logs/{path.name}", path.read_bytes()
    folder = logs.plugin_log_dir()
    try:
        plugin_logs = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    budget = PLUGIN_LOGS_BUDGET
    for path in plugin_logs:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if len(data) > budget:
            break
        budget -= len(data)
        yield f"logs/plugins/{path.name}", data
