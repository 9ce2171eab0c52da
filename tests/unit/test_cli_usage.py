"""The command line as a new operator meets it: ``--help`` lists every command, ``--version``
answers, and a typo is a usage error (exit 2) that never starts the tray. Run as a real
subprocess of the one executable, with no display, so starting the tray would show."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tray_app import __version__, cli


def exlab_tray(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)  # with no display the tray path says so and exits 1
    env["EXLAB_TRAY_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "tray_app", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_help_lists_every_command_with_a_line_each(tmp_path: Path) -> None:
    result = exlab_tray("--help", home=tmp_path)
    assert result.returncode == 0, result.stderr
    commands = cli.build_parser().command_names
    assert {"new", "list", "show", "watch", "answer", "cancel", "serve", "help"} <= set(commands)
    for name in commands:
        assert re.search(rf"^    {name} +\S", result.stdout, re.MULTILINE), name
    for option in ("--version", "--demo", "--self-test"):
        assert option in result.stdout
    assert exlab_tray("help", home=tmp_path).stdout == result.stdout
    watch_help = exlab_tray("help", "watch", home=tmp_path)
    assert watch_help.returncode == 0 and "usage: exlab-tray watch" in watch_help.stdout


def test_version_prints_the_version(tmp_path: Path) -> None:
    result = exlab_tray("--version", home=tmp_path)
    assert (result.returncode, result.stdout) == (0, f"exlab-tray {__version__}\n")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("lst",), "unknown command 'lst' (did you mean 'list'?)"),
        (("--bogus",), "unrecognized arguments: --bogus"),
        (("help", "nope"), "unknown command 'nope'"),
        (("list", "--bogus"), "unrecognized arguments: --bogus"),
        (("new",), "the following arguments are required: KIND"),
    ],
)
def test_a_typo_is_a_usage_error_and_never_starts_the_tray(
    tmp_path: Path, args: tuple[str, ...], words: str
) -> None:
    result = exlab_tray(*args, home=tmp_path)
    assert result.returncode == 2, result
    assert words in result.stderr
    assert result.stderr.startswith("usage: exlab-tray")
    assert "Traceback" not in result.stderr
    # The tray would have said it found no display, and logged its start.
    assert "no desktop display" not in result.stderr
    assert not (tmp_path / "logs").exists()


def test_no_command_is_the_tray(tmp_path: Path) -> None:
    # The positive case of the test above: the same call without the typo reaches the tray.
    result = exlab_tray(home=tmp_path)
    assert result.returncode == 1
    assert "no desktop display found" in result.stderr
