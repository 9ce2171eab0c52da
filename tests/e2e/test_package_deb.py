"""The Linux installer, the way an IT person uses it: build the .deb with the one documented
command, install it with apt, run the installed ``exlab-tray --self-test``, remove the
package and check that nothing of it is left in /opt or /usr."""

from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.machine_lock import opt_lock

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "exlab-tray"
INSTALLED = [
    Path("/opt/exlab-tray"),
    Path("/usr/bin/exlab-tray"),
    Path("/usr/share/applications/exlab-tray.desktop"),
    Path("/usr/share/metainfo/io.exlab.Tray.metainfo.xml"),
    Path("/usr/share/icons/hicolor/48x48/apps/exlab-tray.png"),
    Path("/usr/share/icons/hicolor/scalable/apps/exlab-tray.svg"),
    Path("/usr/share/doc/exlab-tray"),
    Path("/etc/xdg/exlab-tray/settings.toml"),
]
SITE_SETTINGS = "/etc/xdg/exlab-tray/settings.toml"

# Wait for dpkg's lock (an unattended upgrade, say) instead of failing at once.
APT_OPTIONS = ("-y", "-q", "-o", "DPkg::Lock::Timeout=300")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not hasattr(os, "geteuid") or os.geteuid() != 0,
        reason="installing a .deb needs root (CI runs as root)",
    ),
    pytest.mark.skipif(
        not (shutil.which("dpkg-deb") and shutil.which("apt-get")),
        reason="needs dpkg-deb and apt-get (Debian or Ubuntu)",
    ),
]


def run(*args: str | Path, timeout: float, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, args))} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}"
    )
    return result.stdout


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def tray_starts_and_quits_on_sigterm(home: Path, env: dict[str, str]) -> None:
    """The installed desktop app loads Qt from the bundle, brings its UI up, and shuts down
    cleanly on SIGTERM (as at logout). Offscreen: CI has no display."""
    log = home / "logs" / "exlab-tray.log"
    home.mkdir()
    output = home / "output.txt"
    with output.open("w") as sink:
        process = subprocess.Popen(
            ["/usr/bin/exlab-tray"],
            env={**env, "EXLAB_TRAY_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        # "notifications via" is logged once the UI layer is up, after the API is.
        while "notifications via" not in (log.read_text() if log.exists() else ""):
            assert process.poll() is None, f"the tray exited early:\n{output.read_text()}"
            assert time.monotonic() < deadline, "the tray did not start within 60 s"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, output.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert "shut down" in log.read_text()


LAB_PLUGIN = """
import concurrent.futures, decimal, email.mime.text, sqlite3, statistics, zipfile
import xml.etree.ElementTree as ET

def run(payload):
    return {"status": "ok", "message": f"mean={statistics.mean([1, 2, 3])}"}
"""


def lab_plugin_gets_the_standard_library(folder: Path, env: dict[str, str]) -> None:
    """A lab's own plugin may use any standard-library module, though our code imports few:
    the installed worker (the frozen executable with --plugin-worker) must have them all."""
    plugin_dir, destination = folder / "plugin", folder / "dest"
    plugin_dir.mkdir(parents=True)
    destination.mkdir()
    (plugin_dir / "plugin.py").write_text(LAB_PLUGIN)
    payload = {
        "destination": str(destination),
        "request": {},
        "variables": {},
        "answers": {},
        "attempt": 1,
        "template": "lab",
    }
    result = subprocess.run(
        ["/usr/bin/exlab-tray", "--plugin-worker", "--plugin-dir", str(plugin_dir),
         "--entry", "plugin.py", "--name", "lab", "--destination", str(destination)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == {"status": "ok", "message": "mean=2"}


def apt_env() -> dict[str, str]:
    return {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}


def purge() -> str:
    """Purge the package; what apt and dpkg said."""
    result = subprocess.run(
        ["apt-get", *APT_OPTIONS, "purge", PACKAGE],
        capture_output=True,
        text=True,
        env=apt_env(),
        timeout=120,
        check=False,
    )
    return result.stdout + result.stderr


@pytest.fixture
def machine_lock() -> Iterator[None]:
    """The test installs into /opt and /usr: two runs at once take turns (tests.support)."""
    with opt_lock():
        yield


@pytest.mark.timeout(900)
def test_deb_builds_installs_self_tests_and_removes_cleanly(
    tmp_path: Path, machine_lock: None
) -> None:
    out = tmp_path / "dist"
    run(REPO / "packaging" / "build.sh", "--out", out, timeout=600)
    debs = sorted(out.glob(f"{PACKAGE}_*.deb"))
    assert len(debs) == 1, debs

    fields = run("dpkg-deb", "--field", debs[0], "Package", "Version", "Depends", timeout=30)
    from tray_app import __version__

    assert f"Version: {__version__}" in fields
    assert "libxkbcommon-x11-0" in fields and "libegl1" in fields

    try:
        run("apt-get", *APT_OPTIONS, "install", debs[0], timeout=300, env=apt_env())
        owned = run("dpkg-query", "-L", PACKAGE, timeout=30).split()
        # The package owns its own folder, not the system's /opt.
        assert "/opt" not in owned and "/opt/exlab-tray" in owned
        conffiles = run("dpkg-query", "-W", "-f=${Conffiles}", PACKAGE, timeout=30)
        assert SITE_SETTINGS in conffiles
        for path in INSTALLED:
            assert path.exists(), f"{path} was not installed"
        assert Path("/usr/bin/exlab-tray").resolve() == Path("/opt/exlab-tray/exlab-tray")
        for size in (16, 22, 24, 32, 48, 64, 128, 256):
            icon = Path(f"/usr/share/icons/hicolor/{size}x{size}/apps/exlab-tray.png")
            assert png_size(icon) == (size, size), icon
        bundled = {p.name for p in Path("/opt/exlab-tray").rglob("*.so*")}
        assert not {n for n in bundled if "qgtk3" in n or n.startswith("libgtk-3")}, bundled

        # The installed program, as an operator would start it: no display, own HOME.
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path / "home"),
            "LANG": "C.UTF-8",
        }
        report = run("/usr/bin/exlab-tray", "--self-test", timeout=180, env=env)
        assert "self-test PASSED" in report, report
        assert "✗" not in report
        assert "bundle /opt/exlab-tray/exlab-tray" in report  # the installed program, not ours

        tray_starts_and_quits_on_sigterm(tmp_path / "tray-home", env)
        lab_plugin_gets_the_standard_library(tmp_path / "lab-plugin", env)
    finally:
        said = purge()

    assert "not empty so not removed" not in said, said
    assert "warning" not in said.lower(), said
    leftovers = [p for p in INSTALLED if p.exists() or p.is_symlink()]
    assert not leftovers, f"left behind after purge: {leftovers}"
    # Every file the package owned is gone (shared folders like /usr/share stay, of course).
    still_there = [p for p in owned if not Path(p).is_dir() and os.path.lexists(p)]
    assert not still_there, still_there
    status = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", PACKAGE], capture_output=True, text=True, check=False
    )
    assert "installed" not in status.stdout.replace("not-installed", "")
