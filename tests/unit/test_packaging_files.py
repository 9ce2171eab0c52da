"""The installer's metadata stays in step with the code: version, desktop entry, AppStream
metainfo, and the system libraries the .deb declares versus the ones bootstrap installs."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tray_app import __version__

REPO = Path(__file__).resolve().parents[2]
METAINFO = REPO / "packaging" / "io.exlab.Tray.metainfo.xml"
DESKTOP = REPO / "resources" / "exlab-tray.desktop"
CONTROL = REPO / "packaging" / "deb" / "control.in"


def desktop_keys(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if line and not line.startswith("#"))


def test_metainfo_newest_release_is_this_version() -> None:
    root = ET.parse(METAINFO).getroot()
    releases = root.findall("./releases/release")
    assert releases, "metainfo has no <release>"
    assert releases[0].get("version") == __version__, "add a <release> for the new version"
    assert root.findtext("id") == "io.exlab.Tray"
    launchable = root.find("launchable")
    assert launchable is not None and launchable.text == DESKTOP.name


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstreamcli not installed")
def test_metainfo_validates() -> None:
    result = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(METAINFO)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # No error, warning or info either: the build prints whatever appears here.
    notes = [line for line in result.stdout.splitlines() if re.match(r"^[EWI]: ", line)]
    assert notes == [], result.stdout


def test_desktop_entry_launches_the_installed_command() -> None:
    keys = desktop_keys(DESKTOP)
    assert keys["Type"] == "Application"
    assert keys["Exec"] == "exlab-tray"
    assert keys["Icon"] == "exlab-tray"  # the hicolor icon name build.sh installs
    assert keys["Terminal"] == "false"
    assert keys["Categories"].endswith(";")


def test_deb_depends_on_every_qt_library_bootstrap_installs() -> None:
    """scripts/bootstrap.sh lists what Qt needs on Debian; the .deb must declare the same."""
    bootstrap = (REPO / "scripts" / "bootstrap.sh").read_text()
    wanted: set[str] = set()
    for name in ("qt_runtime", "qt_xcb"):
        match = re.search(rf"{name}=\(([^)]*)\)", bootstrap)
        assert match, f"{name} not found in bootstrap.sh"
        wanted.update(match.group(1).split())
    depends_line = next(
        line for line in CONTROL.read_text().splitlines() if line.startswith("Depends:")
    )
    declared = {dep.strip().split()[0] for dep in depends_line[len("Depends:") :].split(",")}
    assert wanted <= declared, f"missing from Depends: {sorted(wanted - declared)}"


def test_control_template_has_every_placeholder_build_sh_fills() -> None:
    text = CONTROL.read_text()
    build = (REPO / "packaging" / "build.sh").read_text()
    for placeholder in re.findall(r"@[A-Z_]+@", text):
        assert f"s/{placeholder}/" in build, placeholder
