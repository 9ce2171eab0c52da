"""Where ExLab Tray logs: one rotating file shared by the tray and ``serve``, at the level the
settings name, and one bounded file per session with its plugin calls' stderr.

No Qt here. The tray and ``serve`` call :func:`setup_logging` once and :func:`set_level`
when the settings are read; the creation pipeline calls :func:`append_plugin_log` off the
loop (it blocks on disk).
"""

from __future__ import annotations

import asyncio
import logging
import logging.handlers
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from tray_app import fileio, paths

__all__ = [
    "BACKUP_COUNT",
    "LOG_FILE_NAME",
    "MAX_LOG_BYTES",
    "PLUGIN_LOGS_KEPT",
    "PLUGIN_LOG_MAX_BYTES",
    "append_plugin_log",
    "keep_plugin_log",
    "level_number",
    "log_file",
    "log_files",
    "plugin_log_dir",
    "plugin_log_path",
    "set_level",
    "setup_logging",
]

LOG_FILE_NAME = "exlab-tray.log"
#: The log rotates at 10 MiB; five old files are kept (60 MiB at most).
MAX_LOG_BYTES = 10 * 1024 * 1024
BACKUP_COUNT = 5
#: One session's plugin log is cut to its newest half when it would pass this.
PLUGIN_LOG_MAX_BYTES = 1024 * 1024
#: Plugin logs of this many sessions are kept (the newest); older ones are removed.
PLUGIN_LOGS_KEPT = 200
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_CUT_MARK = "[… earlier output removed to keep this file small …]\n"
_SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")

_log = logging.getLogger(__name__)


def log_file() -> Path:
    return paths.log_dir() / LOG_FILE_NAME


def log_files() -> list[Path]:
    """The log and its rotated copies that exist, newest first."""
    first = log_file()
    candidates = [first, *(first.with_name(f"{first.name}.{n}") for n in range(1, 100))]
    return [p for p in candidates if p.is_file()]


def level_number(level: str) -> int:
    """``"debug"`` -> ``logging.DEBUG``; an unknown name gives INFO."""
    value = logging.getLevelName(level.upper())
    return value if isinstance(value, int) else logging.INFO


def setup_logging(level: str = "info", *, stderr_level: str = "warning") -> None:
    """Log to the shared rotating file at ``level`` and to stderr at ``stderr_level``.

    Safe to call twice (the second call only changes the levels). If the log folder cannot
    be written, the app logs to stderr only and says so.
    """
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "_exlab", None)]
    if ours:
        _set_levels(root, level, stderr_level)
        return
    formatter = logging.Formatter(_FORMAT)
    stderr = logging.StreamHandler()
    stderr.setFormatter(formatter)
    stderr._exlab = "stderr"  # type: ignore[attr-defined]
    root.addHandler(stderr)
    try:
        path = log_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_LOG_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
        )
    except OSError as exc:
        _set_levels(root, level, stderr_level)
        _log.warning("logging to stderr only: %s", exc)
        return
    to_file.setFormatter(formatter)
    to_file._exlab = "file"  # type: ignore[attr-defined]
    root.addHandler(to_file)
    _set_levels(root, level, stderr_level)


def set_level(level: str) -> None:
    """The file's level (from the ``log_level`` setting); stderr keeps its own."""
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "_exlab", None) == "file":
            handler.setLevel(level_number(level))
    _update_root(root)


def _set_levels(root: logging.Logger, level: str, stderr_level: str) -> None:
    for handler in root.handlers:
        kind = getattr(handler, "_exlab", None)
        if kind == "file":
            handler.setLevel(level_number(level))
        elif kind == "stderr":
            handler.setLevel(level_number(stderr_level))
    _update_root(root)


def _update_root(root: logging.Logger) -> None:
    # The root passes on what the most talkative handler wants, nothing more.
    levels = [h.level for h in root.handlers if getattr(h, "_exlab", None)]
    root.setLevel(min(levels) if levels else logging.INFO)


# ---- plugin stderr, one file per session ---------------------------------------------------


def plugin_log_dir() -> Path:
    return paths.log_dir() / "plugins"


def plugin_log_path(session_id: str) -> Path:
    """The plugin log of ``session_id`` (which may not exist yet)."""
    if not _SAFE_ID.match(session_id):
        raise ValueError(f"not a session id: {session_id!r}")
    return plugin_log_dir() / f"{session_id}.log"


def append_plugin_log(
    session_id: str,
    *,
    plugin: str,
    attempt: int,
    status: str,
    duration_s: float,
    stderr: str,
    at: datetime,
    max_bytes: int = PLUGIN_LOG_MAX_BYTES,
    keep: int = PLUGIN_LOGS_KEPT,
) -> Path:
    """Add one plugin call (a header line, then its stderr) to the session's log. Blocking.

    The file stays under ``max_bytes`` by dropping its oldest half when it would grow past
    it; only the newest ``keep`` sessions keep a log. Raises ``OSError`` if the disk refuses.
    """
    path = plugin_log_path(session_id)
    header = (
        f"=== {at.isoformat(timespec='seconds')} plugin {plugin} call {attempt}: "
        f"{status} after {duration_s:.2f} s ===\n"
    )
    body = stderr if not stderr or stderr.endswith("\n") else stderr + "\n"
    entry = (header + (body or "(no output on stderr)\n")).encode("utf-8", "replace")
    if len(entry) > max_bytes // 2:
        entry = _CUT_MARK.encode() + entry[-(max_bytes // 2) :]
    fresh = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    size = 0 if fresh else path.stat().st_size
    if size + len(entry) > max_bytes:
        old = path.read_bytes()
        kept = old[-(max_bytes // 2 - len(entry)) :] if max_bytes // 2 > len(entry) else b""
        # Start the kept part at a line boundary so no line is cut in half.
        newline = kept.find(b"\n")
        kept = kept[newline + 1 :] if newline >= 0 else b""
        fileio.atomic_write_bytes(path, _CUT_MARK.encode() + kept + entry)
    else:
        with path.open("ab") as handle:
            handle.write(entry)
    if fresh:
        _prune(path.parent, keep)
    return path


async def keep_plugin_log(session_id: str, **call: Any) -> None:
    """:func:`append_plugin_log` in a thread; a disk that refuses is logged, never raised
    (a missing log line must not fail a session)."""
    try:
        await asyncio.to_thread(append_plugin_log, session_id, **call)
    except (OSError, ValueError) as exc:
        _log.warning("could not keep the plugin log of session %s: %s", session_id, exc)


def _prune(folder: Path, keep: int) -> None:
    """Remove all but the ``keep`` most recently written session logs."""
    try:
        logs = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in logs[keep:]:
        try:
            old.unlink()
        except OSError as exc:
            _log.debug("could not remove old plugin log %s: %s", old, exc)
