"""Takes the README screenshots from the real app under Xvfb (dunst for notices; trayer as
an XEmbed tray, or a StatusNotifierItem watcher and host as GNOME and KDE have): the open
tray menu, a notification, the prompt dialog opened from that notice and the sessions
window, in any language the app ships. (make_dialog_screenshots.py shows the dialogs one
by one.)

    .venv/bin/python docs/screenshots/take_screenshots.py [--out docs/screenshots]
    .venv/bin/python docs/screenshots/take_screenshots.py --tray sni --language de --out DIR
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
    """The last visible window named ``name`` (waited for: dunst maps its notice late on
    a busy machine)."""
    found: list[str] = []

    def visible() -> bool:
        found[:] = session.xdotool("search", "--onlyvisible", "--name", name).split()
        return bool(found)

    wait_for(visible, 15, f"a visible window named {name!r}", step=0.2)
    session.run_tool("import", "-window", found[-1], str(target))


def hide_app_windows(session: Desktop) -> None:
    """Unmap the app's dialogs (there is no window manager to minimise them)."""
    for window in session.xdotool("search", "--onlyvisible", "--class", "exlab-tray").split():
        if session.xdotool("getwindowname", window).strip() != "ExLab Tray":
            session.xdotool("windowunmap", window)


def tray_icon_position(session: Desktop, tray: str) -> tuple[int, int]:
    """Centre of our icon: trayer's panel window holds only ours; the StatusNotifierItem
    host's bar shows it first, at its left end."""
    if tray == "sni":
        bar = session.xdotool("search", "--name", "^gtk-sni-tray-standalone$").split()
        geometry = session.xdotool("getwindowgeometry", "--shell", bar[0])
        values = dict(line.split("=", 1) for line in geometry.split() if "=" in line)
        height = int(values["HEIGHT"])
        return int(values["X"]) + height // 2, int(values["Y"]) + height // 2
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
    parser.add_argument("--tray", choices=("xembed", "sni"), default="xembed")
    parser.add_argument("--language", default="en", help="the app's language (LANGUAGE)")
    options = parser.parse_args(argv)
    out: Path = options.out
    tray: str = options.tray
    # The windows are found by their titles, in the language they are shown in.
    from tray_app import i18n
    from tray_app.i18n import _

    i18n.install(options.language)
    prompt_title = _("Input needed: {title}").split("{", 1)[0].rstrip(": ")
    sessions_title = "^" + _("Sessions") + "$"
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="exlab-shots-"))
    home = work / "home"
    with desktop(work / "desktop", tray=tray, size="1100x900") as session:
        app = session.start(
            [sys.executable, "-m", "tray_app", "--demo"],
            "app.log",
            env=session.app_env(home, LANGUAGE=options.language),
            cwd=str(REPO),
        )
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
        if tray == "sni":
            window_shot(session, "^Dunst$", out / "notification.png")
        else:
            crop(session, full, out / "notification.png", "420x260+680+0")

        # The prompt dialog, opened by acting on the notice (as an operator would).
        def prompt_shown() -> bool:
            if session.xdotool("search", "--onlyvisible", "--name", prompt_title):
                return True
            session.run_tool("dunstctl", "action", "0")
            return False

        wait_for(prompt_shown, 20, "the prompt dialog", step=0.7)
        time.sleep(0.5)
        window_shot(session, prompt_title, out / "app-prompt-from-notice.png")
        hide_app_windows(session)
        session.run_tool("dunstctl", "close-all")

        # The open menu with a run in progress: open it, then start a run (the menu follows
        # the store live) and keep the shot taken while that run was still working (on
        # the StatusNotifierItem path: once it ended, see below).
        x, y = tray_icon_position(session, tray)
        menu_area = "600x860+0+0" if tray == "sni" else "600x560+500+0"
        session.xdotool("mousemove", str(x), str(y))
        time.sleep(0.3)
        session.xdotool("click", "3")
        # A StatusNotifierItem host asks for the menu over D-Bus before it draws it.
        time.sleep(2.5 if tray == "sni" else 0.6)
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

        def run_state() -> str:
            return str(api(runtime, "GET", f"/sessions/{handle['session_id']}")["state"])

        kept = False
        if tray == "sni":
            # The host draws its menu anew (blank until done) on each layout change, and
            # keeps the first height: open it again once the run has ended, and move the
            # pointer off the icon (its tooltip would cover the menu's first line).
            wait_for(lambda: run_state() not in live, 60, "the new run", step=0.2)
            session.xdotool("key", "Escape")
            time.sleep(0.5)
            session.xdotool("mousemove", str(x), str(y), "click", "3")
            time.sleep(2.5)
            session.xdotool("mousemove", "900", "850")
            time.sleep(1.0)
            session.screenshot(work / "menu.png")
            crop(session, work / "menu.png", out / "tray-menu.png", menu_area)
            kept = True
        for _ in range(0 if kept else 20):
            time.sleep(0.05)
            shot = work / "menu.png"
            session.screenshot(shot)
            if run_state() in live:
                crop(session, shot, out / "tray-menu.png", menu_area)
                kept = True
            else:
                break
        if not kept:
            print("warning: the run finished before a shot; the menu shows no In progress")
            crop(session, shot, out / "tray-menu.png", menu_area)
        session.xdotool("key", "Escape")
        session.run_tool("dunstctl", "close-all")

        # Left click: the sessions window (a first click may only close the menu).
        def sessions_window_shown() -> bool:
            if session.xdotool("search", "--onlyvisible", "--name", sessions_title):
                return True
            session.xdotool("mousemove", str(x), str(y), "click", "1")
            return False

        wait_for(sessions_window_shown, 15, "the sessions window", step=1.0)
        time.sleep(0.5)
        window_shot(session, sessions_title, out / "app-sessions-window.png")

        app.terminate()
        app.wait(timeout=15)
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
