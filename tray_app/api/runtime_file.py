"""``runtime.json``: how clients find the running instance (url, port, pid, token).

Written atomically with mode 0600 once the socket is bound, removed on exit.
A file left by a dead process is stale and may be replaced.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import msgspec

from tray_app import paths
from tray_app.fileio import atomic_write_bytes


class RuntimeInfo(msgspec.Struct, kw_only=True):
    url: str
    port: int
    pid: int
    token: str
    version: str
    started_at: str


def default_path() -> Path:
    return paths.runtime_file_path()


def read_runtime_info(path: Path | None = None) -> RuntimeInfo | None:
    """The file's content, or None when it is missing, unreadable or malformed."""
    try:
        raw = (path or default_path()).read_bytes()
        return msgspec.json.decode(raw, type=RuntimeInfo)
    except (OSError, msgspec.DecodeError):
        return None


def write_runtime_info(info: RuntimeInfo, path: Path | None = None) -> None:
    # 0600: the token in it is the key to the API.
    atomic_write_bytes(path or default_path(), msgspec.json.encode(info) + b"\n", mode=0o600)


def remove_runtime_info(token: str, path: Path | None = None) -> None:
    """Remove the file if it is still ours (another instance may have replaced it)."""
    target = path or default_path()
    current = read_runtime_info(target)
    if current is not None and current.token != token:
        return
    with contextlib.suppress(FileNotFoundError):
        target.unlink()


def pid_alive(pid: int) -> bool:
    """True if a process with this id exists (it may belong to another user)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _windows_pid_alive(pid: int) -> bool:
    import ctypes

    synchronize = 0x00100000
    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
    handle = kernel32.OpenProcess(synchronize, False, pid)
    if not handle:
        return False
    kernel32.CloseHandle(handle)
    return True
