"""Start at login: writes, checks and repairs the entry that launches ExLab Tray when the
user logs in (XDG autostart on Linux, a LaunchAgent on macOS, the Run key on Windows).

No Qt here: the tray's "Start at login" toggle calls is_enabled/set_enabled, and the app
calls repair() on every start so an entry left pointing at an old path is fixed.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tray_app.fileio import atomic_write_bytes, atomic_write_text

ENTRY_NAME = "exlab-tray.desktop"
#: Where the .deb puts the command; preferred whenever it exists and is this program.
INSTALLED_COMMAND = Path("/usr/bin/exlab-tray")
LAUNCH_AGENT_LABEL = "io.exlab.Tray"
WINDOWS_RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
WINDOWS_VALUE_NAME = "ExLab Tray"


class AutostartError(RuntimeError):
    """Start at login could not be changed; the message says why in plain words."""


# --- what to launch -------------------------------------------------------------------------


def launch_command() -> list[str]:
    """The command line that starts this installation of ExLab Tray.

    Installed package: ``/usr/bin/exlab-tray``. Frozen bundle elsewhere: the bundle's own
    executable. From source: the virtualenv's ``exlab-tray`` script when there is one, else
    ``python -m tray_app``.
    """
    if INSTALLED_COMMAND.exists() and _same_program(INSTALLED_COMMAND):
        return [str(INSTALLED_COMMAND)]
    if getattr(sys, "frozen", False):
        return [str(Path(sys.executable).resolve())]
    script = Path(sys.executable).parent / ("exlab-tray.exe" if os.name == "nt" else "exlab-tray")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "tray_app"]


def _same_program(command: Path) -> bool:
    """True when ``command`` starts this program (or we run from source and it is installed).

    A source checkout on a machine that also has the package installed still points the entry
    at the installed command: that is what the operator wants to start at login.
    """
    if not getattr(sys, "frozen", False):
        return shutil.which(str(command)) is not None
    return command.resolve() == Path(sys.executable).resolve()


# --- what every backend shares ----------------------------------------------------------------


@contextmanager
def _changing(where: Path | None = None) -> Iterator[None]:
    """An entry being written or removed: a refusal of the system becomes words."""
    try:
        yield
    except OSError as exc:
        place = f" {where}" if where is not None else ""
        raise AutostartError(
            f"Could not change the login item{place}: {exc.strerror or exc}"
        ) from exc


def _repoint(launches: object, wanted: object, rewrite: Callable[[bool], None]) -> bool:
    """Rewrite an enabled entry that ``launches`` something else than ``wanted``
    (None: no enabled entry, left alone); True when it was rewritten."""
    if launches is None or launches == wanted:
        return False
    rewrite(True)
    return True


# --- XDG (Linux and other freedesktop systems) ----------------------------------------------


def autostart_dir() -> Path:
    """``$XDG_CONFIG_HOME/autostart`` (default ``~/.config/autostart``), per the XDG spec."""
    config_home = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(config_home) if os.path.isabs(config_home) else Path.home() / ".config"
    return base / "autostart"


def autostart_path() -> Path:
    return autostart_dir() / ENTRY_NAME


def quote_exec_arg(arg: str) -> str:
    """Quote one argument for a desktop entry ``Exec`` key (Desktop Entry spec, "Exec key").

    Reserved characters force double quotes; inside them ``"``, `````, ``$`` and ``\\`` take a
    backslash. ``%`` is doubled (field codes). The string-level escape then doubles every
    backslash, so a literal backslash ends up as four.
    """
    arg = arg.replace("%", "%%")
    reserved = set(" \t\n\"'\\><~|&;$*?#()`")
    if arg and not (set(arg) & reserved):
        return arg
    inner = "".join("\\" + ch if ch in '"`$\\' else ch for ch in arg)
    return '"' + inner.replace("\\", "\\\\") + '"'


def exec_line(command: Sequence[str]) -> str:
    return " ".join(quote_exec_arg(arg) for arg in command)


def desktop_entry(command: Sequence[str]) -> str:
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=ExLab Tray\n"
        "Comment=Hosts ExLab creation sessions in the system tray\n"
        f"Exec={exec_line(command)}\n"
        "Icon=exlab-tray\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


def _read_entry(path: Path) -> dict[str, str] | None:
    """The ``[Desktop Entry]`` keys of ``path``, or None when it is missing or unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    keys: dict[str, str] = {}
    in_group = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            in_group = line == "[Desktop Entry]"
        elif in_group and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            keys[key.strip()] = value.strip()
    return keys


def _xdg_entry_enabled(keys: dict[str, str]) -> bool:
    # Desktop settings panels switch an entry off by setting Hidden or the GNOME key.
    if keys.get("Hidden", "").lower() == "true":
        return False
    return keys.get("X-GNOME-Autostart-enabled", "true").lower() != "false"


def system_autostart_paths() -> list[Path]:
    """The entries IT may install for every user: ``<dir>/autostart/exlab-tray.desktop`` for
    each folder of ``$XDG_CONFIG_DIRS`` (default ``/etc/xdg``)."""
    dirs = os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    return [Path(d) / "autostart" / ENTRY_NAME for d in dirs.split(os.pathsep) if os.path.isabs(d)]


def _system_entry_enabled() -> bool:
    for path in system_autostart_paths():
        keys = _read_entry(path)
        if keys is not None:
            return _xdg_entry_enabled(keys)  # the first one found is the one that counts
    return False


def _xdg_is_enabled() -> bool:
    # A user's entry of the same name shadows a system-wide one (XDG autostart spec).
    keys = _read_entry(autostart_path())
    if keys is not None:
        return _xdg_entry_enabled(keys)
    return _system_entry_enabled()


def _xdg_set_enabled(enabled: bool) -> None:
    path = autostart_path()
    with _changing(path):
        if enabled:
            atomic_write_text(path, desktop_entry(launch_command()))
        elif _system_entry_enabled():
            # Removing ours would leave IT's entry for every user in force: hide it instead.
            atomic_write_text(path, desktop_entry(launch_command()) + "Hidden=true\n")
        else:
            path.unlink(missing_ok=True)


def _xdg_repair() -> bool:
    keys = _read_entry(autostart_path())
    launches = keys.get("Exec", "") if keys is not None and _xdg_entry_enabled(keys) else None
    return _repoint(launches, exec_line(launch_command()), _xdg_set_enabled)


# --- macOS: a per-user LaunchAgent ------------------------------------------------------------


def launch_agent_path() -> Path:
    return Path.home() / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"


def _agent_plist(command: Sequence[str]) -> bytes:
    import plistlib  # macOS only; it pulls in the XML parser

    return plistlib.dumps(
        {"Label": LAUNCH_AGENT_LABEL, "ProgramArguments": list(command), "RunAtLoad": True}
    )


def _agent_arguments() -> list[str] | None:
    import plistlib

    try:
        data = plistlib.loads(launch_agent_path().read_bytes())
    except (OSError, plistlib.InvalidFileException, ValueError):
        return None
    arguments = data.get("ProgramArguments") if isinstance(data, dict) else None
    return [str(a) for a in arguments] if isinstance(arguments, list) else None


def _agent_set_enabled(enabled: bool) -> None:
    path = launch_agent_path()
    with _changing(path):
        if enabled:
            atomic_write_bytes(path, _agent_plist(launch_command()))
        else:
            path.unlink(missing_ok=True)


def _agent_repair() -> bool:
    return _repoint(_agent_arguments(), launch_command(), _agent_set_enabled)


# --- Windows: HKCU Run key ------------------------------------------------------------------


def _windows_command_line() -> str:
    import subprocess

    return subprocess.list2cmdline(launch_command())


def _windows_read() -> str | None:
    if sys.platform != "win32":
        return None
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, WINDOWS_RUN_KEY) as key:
            value, _kind = winreg.QueryValueEx(key, WINDOWS_VALUE_NAME)
    except OSError:
        return None
    return str(value)


def _windows_set_enabled(enabled: bool) -> None:
    if sys.platform != "win32":
        raise AutostartError("The Windows Run key is only available on Windows.")
    import winreg

    with _changing(), winreg.CreateKey(winreg.HKEY_CURRENT_USER, WINDOWS_RUN_KEY) as key:
        if enabled:
            winreg.SetValueEx(key, WINDOWS_VALUE_NAME, 0, winreg.REG_SZ, _windows_command_line())
        elif _windows_read() is not None:
            winreg.DeleteValue(key, WINDOWS_VALUE_NAME)


def _windows_repair() -> bool:
    return _repoint(_windows_read(), _windows_command_line(), _windows_set_enabled)


# --- public surface -------------------------------------------------------------------------


def is_enabled() -> bool:
    """True when ExLab Tray will start at the next login (the toggle's check mark)."""
    if sys.platform == "win32":
        return _windows_read() is not None
    if sys.platform == "darwin":
        return _agent_arguments() is not None
    return _xdg_is_enabled()


def set_enabled(enabled: bool) -> None:
    """Create (pointing at :func:`launch_command`) or remove the login entry.

    Raises :class:`AutostartError` with a readable message when the file or key can't be
    written.
    """
    if sys.platform == "win32":
        _windows_set_enabled(enabled)
    elif sys.platform == "darwin":
        _agent_set_enabled(enabled)
    else:
        _xdg_set_enabled(enabled)


def repair() -> bool:
    """Point an existing, enabled entry at the current command; True when it was rewritten.

    Called on every start: after an upgrade, a move, or a switch from a source checkout to the
    package, the entry would otherwise launch a path that no longer exists. A disabled entry
    (``Hidden=true``) and a missing one are left alone.
    """
    if sys.platform == "win32":
        return _windows_repair()
    if sys.platform == "darwin":
        return _agent_repair()
    return _xdg_repair()
