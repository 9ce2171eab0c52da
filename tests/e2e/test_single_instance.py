"""Single instance, as real processes: a second ``exlab-tray`` shows the first one's sessions
window and exits 0; the first quits on SIGTERM with exit code 0 and removes runtime.json."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.desktop_env import REPO, wait_for

pytestmark = pytest.mark.slow


def app_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {"QT_QPA_PLATFORM": "offscreen", "EXLAB_TRAY_HOME": str(home)},
        EXLAB_TRAY_NOTIFICATIONS="none",
    )
    return env


def test_second_launch_activates_the_first_and_exits_0(tmp_path: Path) -> None:
    home = tmp_path / "home"
    runtime_path = home / "runtime" / "runtime.json"
    log_path = home / "logs" / "exlab-tray.log"
    first = subprocess.Popen(
        [sys.executable, "-m", "tray_app"],
        env=app_env(home),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(runtime_path.exists, 60, "the first instance's runtime.json")
        runtime = json.loads(runtime_path.read_text())
        assert runtime["pid"] == first.pid

        second = subprocess.run(
            [sys.executable, "-m", "tray_app"],
            env=app_env(home),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 0, second.stdout + second.stderr
        assert f"already running (pid {first.pid})" in second.stdout
        wait_for(
            lambda: "activated by another launch" in log_path.read_text(), 10, "the activation"
        )
        assert first.poll() is None
        # The second launch did not replace the first's runtime file.
        assert json.loads(runtime_path.read_text())["token"] == runtime["token"]
    finally:
        started = time.monotonic()
        first.send_signal(signal.SIGTERM)
        output, _ = first.communicate(timeout=15)
    assert first.returncode == 0, output
    assert time.monotonic() - started < 5.0
    assert not runtime_path.exists()
