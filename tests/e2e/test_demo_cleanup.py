"""``exlab-tray --demo`` on its own temporary home removes that home when it quits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.desktop_env import REPO, wait_for

pytestmark = pytest.mark.slow


def test_the_demo_removes_its_home_on_quit(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "EXLAB_TRAY_HOME"}
    env.update(
        TMPDIR=str(temp),
        QT_QPA_PLATFORM="offscreen",
        EXLAB_TRAY_NOTIFICATIONS="none",
        XDG_CONFIG_HOME=str(tmp_path / "xdg-config"),
    )
    out = tmp_path / "out.txt"
    with out.open("w") as sink:
        app = subprocess.Popen(
            [sys.executable, "-m", "tray_app", "--demo"],
            env=env,
            cwd=REPO,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "EXLAB_TRAY_HOME=" in out.read_text(), 60, "the demo's home")
        home = Path(out.read_text().split("EXLAB_TRAY_HOME=", 1)[1].split()[0])
        assert home.parent == temp and home.name.startswith("exlab-tray-demo-")
        log = home / "logs" / "exlab-tray.log"
        wait_for(
            lambda: log.exists() and "demo sessions:" in log.read_text(), 120, "the demo sessions"
        )
        assert (home / "data").is_dir()
        app.send_signal(signal.SIGTERM)
        assert app.wait(timeout=60) == 0, out.read_text()
    finally:
        if app.poll() is None:
            app.kill()
            app.wait(timeout=10)
    assert not home.exists(), sorted(p.name for p in home.rglob("*"))
    assert list(temp.iterdir()) == []
    assert "Traceback" not in out.read_text()
