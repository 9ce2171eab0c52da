"""End to end on a real (virtual) desktop: ``exlab-tray --demo`` under Xvfb with a
StatusNotifierItem host and dunst on a private D-Bus session bus.

The icon registers with the watcher, the waiting demo session's ``Notify`` reaches the daemon,
answering through the local API finishes that session, and SIGTERM exits 0 without leaving
runtime.json behind.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.desktop_env import SNI_HOSTS, SNI_TOOLS, desktop, missing_tools, wait_for

pytestmark = pytest.mark.slow

MISSING = missing_tools(*SNI_TOOLS, *SNI_HOSTS)


def api(runtime: dict[str, Any], method: str, path: str, body: object = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{runtime['url']}/api/v1{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {runtime['token']}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def sessions(runtime: dict[str, Any]) -> list[dict[str, Any]]:
    payload = api(runtime, "GET", "/sessions")
    return payload["sessions"] if isinstance(payload, dict) else payload


@pytest.mark.skipif(bool(MISSING), reason=f"desktop test tools not installed: {MISSING}")
def test_demo_on_a_real_tray_notifies_answers_and_quits(tmp_path: Path) -> None:
    home = tmp_path / "home"
    runtime_path = home / "runtime" / "runtime.json"
    with desktop(tmp_path / "desktop", tray="sni") as session:
        app = session.start_app(home, "--demo")
        try:
            wait_for(runtime_path.exists, 60, "runtime.json")
            runtime = json.loads(runtime_path.read_text())
            assert runtime["pid"] == app.pid

            # The icon registered with the StatusNotifierWatcher.
            wait_for(lambda: "string" in session.registered_sni_items(), 30, "the SNI item")

            # The demo's waiting run reached the notification daemon, with action buttons.
            def notified() -> bool:
                text = session.monitor_text()
                return "member=Notify" in text and "Input needed: Run 'month-1 screen'" in text

            wait_for(notified, 90, "a Notify call for the waiting session")
            text = session.monitor_text()
            notify = text[text.index("Input needed: Run 'month-1 screen'") :]
            assert '"answer"' in notify[:600] and '"Answer…"' in notify[:600]

            # Acting on the notice in the daemon opens the prompt dialog (ActionInvoked routing).
            app_log = home / "logs" / "exlab-tray.log"

            def prompt_opened() -> bool:
                if "-> Action(command=<Command.OPEN_PROMPT" in app_log.read_text():
                    return True
                # Invoking a notice's default action closes it; the next one moves up.
                session.run_tool("dunstctl", "action", "0")
                return False

            wait_for(prompt_opened, 20, "the prompt opened from the notice", step=0.5)
            wait_for(
                lambda: bool(session.xdotool("search", "--name", "Input needed: Run").strip()),
                10,
                "the prompt dialog's window",
            )

            waiting = [s for s in sessions(runtime) if s["state"] == "input_required"]
            assert len(waiting) == 1, sessions(runtime)
            sid = waiting[0]["session_id"]
            fields = {f["id"] for f in waiting[0]["pending_input"]["fields"]}
            assert {"sample_count", "plate_type", "prep_date"} <= fields
            answers = {
                "sample_count": 12,
                "plate_type": "96-well",
                "prep_date": dt.date.today().isoformat(),
            }
            api(runtime, "POST", f"/sessions/{sid}/resume", {"answers": answers})

            def finished() -> bool:
                return api(runtime, "GET", f"/sessions/{sid}")["state"] == "done"

            wait_for(finished, 60, "the answered session to finish", step=0.2)
            result = api(runtime, "GET", f"/sessions/{sid}")["result"]
            assert (Path(result["path"]) / "plate_map.csv").is_file()
        finally:
            if app.poll() is None:
                started = time.monotonic()
                app.send_signal(signal.SIGTERM)
                code = app.wait(timeout=15)
                elapsed = time.monotonic() - started
            else:
                code, elapsed = app.returncode, 0.0
        log = (session.workdir / "app.log").read_text(errors="replace")
        assert code == 0, log
        assert elapsed < 5.0, (elapsed, log)
        assert not runtime_path.exists()
        assert "Traceback" not in log, log
