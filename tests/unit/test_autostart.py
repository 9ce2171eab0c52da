"""Start at login: the XDG autostart entry is written, read back, switched off and repaired
on the real filesystem (XDG_CONFIG_HOME points into the test's folder)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tray_app import autostart

pytestmark = pytest.mark.skipif(
    sys.platform in ("win32", "darwin"), reason="XDG autostart is the Linux backend"
)


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    # No system-wide entry unless a test installs one (in its own folder, not /etc/xdg).
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "xdg-system"))
    # Whatever this machine has installed, these tests decide what "installed" means.
    monkeypatch.setattr(autostart, "INSTALLED_COMMAND", tmp_path / "usr-bin" / "exlab-tray")
    return home


def unquote_exec(value: str) -> list[str]:
    """Parse an Exec value the way the Desktop Entry spec says a launcher does."""
    value = value.replace("\\\\", "\\").replace("%%", "%")  # string-level escapes
    args: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in value:
        if escaped:
            current.append(ch)
            escaped = False
        elif quoted and ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == " " and not quoted:
            args.append("".join(current))
            current = []
        else:
            current.append(ch)
    args.append("".join(current))
    return args


def test_entry_path_follows_xdg_config_home(config_home: Path) -> None:
    assert autostart.autostart_path() == config_home / "autostart" / "exlab-tray.desktop"


def test_relative_xdg_config_home_is_ignored(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert autostart.autostart_dir() == tmp_path / ".config" / "autostart"


def test_enable_writes_entry_pointing_at_launch_command(config_home: Path) -> None:
    assert not autostart.is_enabled()
    autostart.set_enabled(True)
    assert autostart.is_enabled()
    text = autostart.autostart_path().read_text()
    assert text.startswith("[Desktop Entry]\n")
    exec_value = next(line for line in text.splitlines() if line.startswith("Exec="))[5:]
    assert unquote_exec(exec_value) == autostart.launch_command()
    assert "Icon=exlab-tray" in text


def test_disable_removes_entry_and_is_idempotent(config_home: Path) -> None:
    autostart.set_enabled(True)
    autostart.set_enabled(False)
    assert not autostart.autostart_path().exists()
    assert not autostart.is_enabled()
    autostart.set_enabled(False)  # already off: still fine


def test_entry_hidden_by_desktop_settings_counts_as_off(config_home: Path) -> None:
    autostart.set_enabled(True)
    path = autostart.autostart_path()
    path.write_text(path.read_text() + "Hidden=true\n")
    assert not autostart.is_enabled()
    assert autostart.repair() is False  # the user's choice is left alone
    assert "Hidden=true" in path.read_text()


def test_gnome_disabled_key_counts_as_off(config_home: Path) -> None:
    autostart.set_enabled(True)
    path = autostart.autostart_path()
    path.write_text(
        path.read_text().replace(
            "X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false"
        )
    )
    assert not autostart.is_enabled()


def test_repair_rewrites_stale_exec(config_home: Path) -> None:
    path = autostart.autostart_path()
    path.parent.mkdir(parents=True)
    path.write_text("[Desktop Entry]\nType=Application\nExec=/opt/old-place/exlab-tray\n")
    assert autostart.is_enabled()
    assert autostart.repair() is True
    assert f"Exec={autostart.exec_line(autostart.launch_command())}\n" in path.read_text()
    assert autostart.repair() is False  # now current: nothing to do


def test_repair_leaves_missing_entry_missing(config_home: Path) -> None:
    assert autostart.repair() is False
    assert not autostart.autostart_path().exists()


def test_installed_command_is_preferred(config_home: Path, tmp_path: Path) -> None:
    installed = tmp_path / "usr-bin" / "exlab-tray"
    installed.parent.mkdir()
    installed.write_text("#!/bin/sh\n")
    installed.chmod(0o755)
    assert autostart.launch_command() == [str(installed)]


def test_source_command_runs_this_python(config_home: Path) -> None:
    command = autostart.launch_command()
    assert command[0].startswith(str(Path(sys.executable).parent))


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("/usr/bin/exlab-tray", "/usr/bin/exlab-tray"),
        ("/home/lab user/venv/bin/python", '"/home/lab user/venv/bin/python"'),
        ("100%", "100%%"),
        ('a"b', '"a\\\\"b"'),
        ("C:\\x y", '"C:\\\\\\\\x y"'),
        ("$HOME", '"\\\\$HOME"'),
    ],
)
def test_exec_quoting(arg: str, expected: str) -> None:
    assert autostart.quote_exec_arg(arg) == expected


def test_exec_line_round_trips_awkward_paths(config_home: Path) -> None:
    command = ["/home/lab user/it's $here/python", "-m", "tray_app"]
    assert unquote_exec(autostart.exec_line(command)) == command


def test_unwritable_autostart_dir_gives_clear_error(config_home: Path) -> None:
    config_home.mkdir()
    (config_home / "autostart").write_text("a file where the folder should be")
    with pytest.raises(autostart.AutostartError, match="Could not change the login item"):
        autostart.set_enabled(True)


def test_launch_agent_plist_round_trip(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config_home: Path
) -> None:
    # The macOS backend is plain plistlib and files, so it runs here too.
    monkeypatch.setenv("HOME", str(tmp_path))
    assert autostart._agent_arguments() is None
    autostart._agent_set_enabled(True)
    assert autostart._agent_arguments() == autostart.launch_command()
    agent = autostart.launch_agent_path()
    agent.write_bytes(autostart._agent_plist(["/Applications/Old.app/Contents/MacOS/exlab-tray"]))
    assert autostart._agent_repair() is True
    assert autostart._agent_arguments() == autostart.launch_command()
    autostart._agent_set_enabled(False)
    assert not agent.exists()


def fake_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    exe = tmp_path / "opt" / "exlab-tray" / "exlab-tray"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(exe))
    return exe


def test_frozen_bundle_points_at_itself(
    config_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = fake_bundle(tmp_path, monkeypatch)
    assert autostart.launch_command() == [str(exe)]


def test_installed_package_points_at_usr_bin_symlink(
    config_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = fake_bundle(tmp_path, monkeypatch)
    link = tmp_path / "usr-bin" / "exlab-tray"  # what the fixture made INSTALLED_COMMAND
    link.parent.mkdir()
    link.symlink_to(exe)
    assert autostart.launch_command() == [str(link)]
    autostart.set_enabled(True)
    assert f"Exec={link}\n" in autostart.autostart_path().read_text()


def test_another_bundle_behind_usr_bin_is_not_ours(
    config_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = fake_bundle(tmp_path, monkeypatch)
    other = tmp_path / "elsewhere" / "exlab-tray"
    other.parent.mkdir()
    other.write_text("#!/bin/sh\n")
    link = tmp_path / "usr-bin" / "exlab-tray"
    link.parent.mkdir()
    link.symlink_to(other)
    assert autostart.launch_command() == [str(exe)]


def test_a_system_wide_entry_counts_and_switching_off_hides_it_for_this_user(
    config_home: Path, tmp_path: Path
) -> None:
    """IT's /etc/xdg/autostart entry starts the tray for everyone; a user's "off" must win."""
    system = tmp_path / "xdg-system" / "autostart" / autostart.ENTRY_NAME
    system.parent.mkdir(parents=True)
    system.write_text(autostart.desktop_entry(["/usr/bin/exlab-tray"]))
    assert autostart.system_autostart_paths() == [system]
    assert autostart.is_enabled()  # no entry of the user's own: the system one applies

    autostart.set_enabled(False)
    user = autostart.autostart_path()
    assert "Hidden=true" in user.read_text()  # shadows the system entry (XDG autostart)
    assert not autostart.is_enabled()
    assert system.exists()  # IT's file is left alone

    autostart.set_enabled(True)
    assert autostart.is_enabled() and "Hidden=true" not in user.read_text()


def test_a_hidden_system_entry_is_off_and_off_removes_the_users_entry(
    config_home: Path, tmp_path: Path
) -> None:
    system = tmp_path / "xdg-system" / "autostart" / autostart.ENTRY_NAME
    system.parent.mkdir(parents=True)
    system.write_text(autostart.desktop_entry(["/usr/bin/exlab-tray"]) + "Hidden=true\n")
    assert not autostart.is_enabled()
    autostart.set_enabled(True)
    assert autostart.is_enabled()
    autostart.set_enabled(False)
    assert not autostart.autostart_path().exists()
