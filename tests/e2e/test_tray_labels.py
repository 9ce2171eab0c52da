"""Names read as typed on a StatusNotifierItem host: the tray menu as the host gets it over
D-Bus (``GetLayout``), with ``plate_map`` and ``Demo_Project`` intact."""

from __future__ import annotations

import json
import signal
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.desktop_env import (
    SNI_HOSTS,
    SNI_TOOLS,
    desktop,
    host_reading,
    missing_tools,
    wait_for,
)

pytestmark = pytest.mark.slow

MISSING = missing_tools(*SNI_TOOLS, *SNI_HOSTS)


def api(runtime: dict[str, Any], method: str, path: str, body: object = None) -> Any:
    request = urllib.request.Request(
        f"{runtime['url']}/api/v1{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {runtime['token']}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_host_reading_of_dbusmenu_labels() -> None:
    assert host_reading("_Quit") == "Quit"
    assert host_reading("plate__map asks") == "plate_map asks"
    assert host_reading("platemap") == host_reading("plate_map")  # what the issue saw


@pytest.mark.skipif(bool(MISSING), reason=f"desktop test tools not installed: {MISSING}")
def test_underscores_read_as_typed_on_a_status_notifier_host(tmp_path: Path) -> None:
    home = tmp_path / "home"
    runtime_path = home / "runtime" / "runtime.json"
    with desktop(tmp_path / "desktop", tray="sni") as session:
        app = session.start_app(home, "--demo")
        try:
            wait_for(runtime_path.exists, 60, "runtime.json")
            runtime = json.loads(runtime_path.read_text())
            body = {
                "kind": "project",
                "equipment_id": "DEMO",
                "project_name": "Demo_Project",
                "operator": "ada_l",
            }
            sid = api(runtime, "POST", "/sessions", body)["session_id"]
            wait_for(
                lambda: api(runtime, "GET", f"/sessions/{sid}")["state"] == "done",
                60,
                "the Demo_Project session to finish",
                step=0.2,
            )

            run = {
                "kind": "run",
                "equipment_id": "DEMO",
                "project_name": "Demo_Project",
                "operator": "ada_l",
                "label": "R&D_1 & co",
            }
            api(runtime, "POST", "/sessions", run)

            def shown() -> list[str]:
                return [host_reading(label) for label in session.tray_menu_labels()]

            wait_for(
                lambda: (
                    any("plate_map asks" in label for label in shown())
                    and any("Run 'R&D_1 & co' of Demo_Project" in label for label in shown())
                ),
                60,
                "the waiting demo run and Demo_Project in the exported menu",
                step=0.5,
            )
            labels = shown()
            assert "✓ Project Demo_Project (DEMO): done" in labels, labels
            assert "Quit" in labels
        finally:
            app.send_signal(signal.SIGTERM)
            code = app.wait(timeout=30)
        assert code == 0, (session.workdir / "app.log").read_text(errors="replace")


@pytest.mark.skipif(bool(MISSING), reason=f"desktop test tools not installed: {MISSING}")
def test_a_translated_mnemonic_is_exported_where_the_catalog_marks_it(tmp_path: Path) -> None:
    """In German the host gets "ne_u" and "spei_chern": the letter the catalog marks, not
    its first match ("Einstellungen" and "Bericht" have a "u" and a "c" before it)."""
    home = tmp_path / "home"
    settings = home / "config" / "settings.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text('language = "de"\n', encoding="utf-8")
    with desktop(tmp_path / "desktop", tray="sni", notifications=False) as session:
        app = session.start_app(home)
        try:
            wait_for(
                lambda: "_Beenden" in session.tray_menu_labels(),
                60,
                "the German menu exported to the host",
                step=0.5,
            )
            labels = session.tray_menu_labels()
            assert "Einstellungen ne_u laden" in labels, labels
            assert "Bericht für den Support spei_chern…" in labels, labels
        finally:
            app.send_signal(signal.SIGTERM)
            code = app.wait(timeout=30)
        assert code == 0, (session.workdir / "app.log").read_text(errors="replace")
