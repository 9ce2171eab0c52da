"""The .deb writer (packaging/deb/pack.py) on a small tree, without PyInstaller: dpkg reads
what it writes, the package owns /opt/exlab-tray and not /opt, the site's settings file is a
conffile, and installing then purging it (as root) leaves no warning and nothing behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.machine_lock import opt_lock

REPO = Path(__file__).resolve().parents[2]
#: Not the real package's name: this test must not remove an installed ExLab Tray.
PACKAGE = "exlab-tray-pack-check"

pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")


def tree(root: Path) -> Path:
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {PACKAGE}\nVersion: 0.1\nArchitecture: all\n"
        "Maintainer: ExLab <t@exlab.invalid>\nDescription: pack.py check\n a test\n"
    )
    (root / "DEBIAN" / "conffiles").write_text(f"/etc/xdg/{PACKAGE}/settings.toml\n")
    shutil.copy(REPO / "packaging" / "deb" / "preinst", root / "DEBIAN" / "preinst")
    bundle = root / "opt" / PACKAGE
    (bundle / "_internal").mkdir(parents=True)
    (bundle / PACKAGE).write_text("#!/bin/sh\necho packed\n")
    (bundle / PACKAGE).chmod(0o755)
    (bundle / "_internal" / "lib.so").write_bytes(b"\0" * 1001)  # odd size: ar padding
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / PACKAGE).symlink_to(f"/opt/{PACKAGE}/{PACKAGE}")
    site = root / "etc" / "xdg" / PACKAGE
    site.mkdir(parents=True)
    shutil.copy(REPO / "packaging" / "site" / "settings.toml", site / "settings.toml")
    return root


def pack(root: Path, deb: Path) -> None:
    subprocess.run(
        [sys.executable, str(REPO / "packaging" / "deb" / "pack.py"), str(root), str(deb)],
        check=True,
        timeout=60,
    )


def test_dpkg_reads_the_package_and_it_does_not_claim_opt(tmp_path: Path) -> None:
    deb = tmp_path / "check.deb"
    pack(tree(tmp_path / "root"), deb)
    listing = subprocess.run(
        ["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    names = [line.split()[5] for line in listing.splitlines()]
    assert "./opt/" not in names
    assert f"./opt/{PACKAGE}/" in names and f"./opt/{PACKAGE}/_internal/lib.so" in names
    assert all(line.split()[1] == "root/root" for line in listing.splitlines())
    assert f"./usr/bin/{PACKAGE} -> /opt/{PACKAGE}/{PACKAGE}" in listing
    info = subprocess.run(
        ["dpkg-deb", "--info", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    assert f"Package: {PACKAGE}" in info and "conffiles" in info and "preinst" in info


@pytest.mark.skipif(os.geteuid() != 0, reason="installing a package needs root")
def test_install_and_purge_leave_no_warning_and_nothing_behind(tmp_path: Path) -> None:
    deb = tmp_path / "check.deb"
    pack(tree(tmp_path / "root"), deb)
    with opt_lock():
        try:
            subprocess.run(["dpkg", "-i", str(deb)], capture_output=True, check=True, timeout=120)
            owned = subprocess.run(
                ["dpkg-query", "-L", PACKAGE], capture_output=True, text=True, check=True
            ).stdout.split()
            assert "/opt" not in owned and f"/opt/{PACKAGE}" in owned
            conffiles = subprocess.run(
                ["dpkg-query", "-W", "-f=${Conffiles}", PACKAGE],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            assert f"/etc/xdg/{PACKAGE}/settings.toml" in conffiles
            ran = subprocess.run([f"/usr/bin/{PACKAGE}"], capture_output=True, check=True)
            assert ran.stdout == b"packed\n"
        finally:
            purge = subprocess.run(
                ["dpkg", "--purge", PACKAGE],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
    assert purge.returncode == 0, purge.stderr
    assert "warning" not in (purge.stdout + purge.stderr).lower(), purge.stderr
    assert not Path(f"/opt/{PACKAGE}").exists()
    assert not Path(f"/etc/xdg/{PACKAGE}").exists()
    assert Path("/opt").is_dir()
