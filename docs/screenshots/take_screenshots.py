"""Takes the README screenshots from the real app under Xvfb (trayer as the tray, dunst for
notices): the open tray menu, a notification, the prompt dialog opened from that notice and
the sessions window. (make_dialog_screenshots.py shows the dialogs one by one.)

    .venv/bin/python docs/screenshots/take_screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.e2e.desktop_env import Desktop, desktop, wait_for  # noqa: E402


def api(runtime: dict[str, Any], method: str, path: str, body: object = None) -> Any:
    request = urllib.request.Request(
        f"{runtime['url']}/api/v1{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {runtime['token']}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def crop(session: Desktop, source: Path, target: Path, geometry: str) -> None:
    session.run_tool("convert", str(source), "-crop", geometry, "+repage", str(target))


def window_shot(session: Desktop, name: str, target: Path) -> None:
    ids = session.xdotool("search", "--onlyvisible", "--name", name).split()
    if not ids:
        raise RuntimeError(f"no visible window named {name!r}")
    session.run_tool("import", "-window", ids[-1], str(target))


def hide_app_windows(session: Desktop) -> None:
    """Unmap the app's dialogs (there is no window manager to minimise them)."""
    for window in session.xdotool("search", "--onlyvisible", "--class", "exlab-tray").split():
        if session.xdotool("getwindowname", window).strip() != "ExLab Tray":
            session.xdotool("windowunmap", window)


def tray_icon_position(session: Desktop) -> tuple[int, int]:
    """Centre of trayer's panel window (it holds only our icon)."""
    for window in session.xdotool("search", "--name", "^panel$").split():
        geometry = session.xdotool("getwindowgeometry", "--shell", window)
        values = dict(line.split("=", 1) for line in geometry.split() if "=" in line)
        return (
            int(values["X"]) + int(values["WIDTH"]) // 2,
            int(values["Y"]) + int(values["HEIGHT"]) // 2,
        )
    raise RuntimeError("trayer's panel was not found")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    options = parser.parse_args(argv)
    out: Path = options.out
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="exlab-shots-"))
    home = work / "home"
    with desktop(work / "desktop", tray="xembed", size="1100x700") as session:
        app = session.start_app(home, "--demo")
        runtime_path = home / "runtime" / "runtime.json"
        wait_for(runtime_path.exists, 60, "runtime.json")
        runtime = json.loads(runtime_path.read_text())

        def waiting() -> list[dict[str, Any]]:
            listed = api(runtime, "GET", "/sessions")
            items = listed["sessions"] if isinstance(listed, dict) else listed
            return [s for s in items if s["state"] == "input_required"]

        wait_for(lambda: bool(waiting()), 90, "the demo's waiting session", step=0.3)
        time.sleep(1.0)  # let dunst draw its notices
        full = work / "full.png"
        session.screenshot(full)
        crop(session, full, out / "notification.png", "420x260+680+0")

        # The prompt dialog, opened by acting on the notice (as an operator would).
        def prompt_shown() -> bool:
            if session.xdotool("search", "--onlyvisible", "--name", "Input needed"):
                return True
            session.run_tool("dunstctl", "action", "0")
            return False

        wait_for(prompt_shown, 20, "the prompt dialog", step=0.7)
        time.sleep(0.5)
        window_shot(session, "Input needed", out / "app-prompt-from-notice.png")
        hide_app_windows(session)
        session.run_tool("dunstctl", "close-all")

        # The open menu with a run in progress: open it, then start a run (the menu follows
        # the store live) and keep the shot taken while that run was still working.
        x, y = tray_icon_position(session)
        session.xdotool("mousemove", str(x), str(y))
        time.sleep(0.3)
        session.xdotool("click", "3")
        time.sleep(0.6)
        handle = api(
            runtime,
            "POST",
            "/sessions",
            {
                "kind": "run",
                "equipment_id": "DEMO",
                "project_name": "Enzyme-Kinetics",
                "operator": "demo-operator",
                "label": "kinetics plate 2",
                "variables": {
                    "sample_count": 40,
                    "plate_type": "96-well",
                    "prep_date": dt.date.today().isoformat(),
                },
            },
        )
        live = {"pending", "validating", "rendering", "plugin_pass", "cache_write"}
        kept = False
        for _ in range(20):
            time.sleep(0.05)
            shot = work / "menu.png"
            session.screenshot(shot)
            if api(runtime, "GET", f"/sessions/{handle['session_id']}")["state"] in live:
                crop(session, shot, out / "tray-menu.png", "600x560+500+0")
                kept = True
            else:
                break
        if not kept:
            print("warning: the run finished before a shot; the menu shows no In progress")
            crop(session, shot, out / "tray-menu.png", "600x560+500+0")
        session.xdotool("key", "Escape")
        session.run_tool("dunstctl", "close-all")

        # Left click: the sessions window (a first click may only close the menu).
        def sessions_window_shown() -> bool:
            if session.xdotool("search", "--onlyvisible", "--name", "ExLab Tray: sessions"):
                return True
            session.xdotool("click", "1")
            return False

        wait_for(sessions_window_shown, 15, "the sessions window", step=1.0)
        time.sleep(0.5)
        window_shot(session, "ExLab Tray: sessions", out / "app-sessions-window.png")

        app.terminate()
        app.wait(timeout=15)
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
