"""A throwaway desktop for end-to-end runs: Xvfb, a private D-Bus session bus, a notification
daemon (dunst), a StatusNotifierItem watcher and host, or an XEmbed tray (trayer).

Used by the slow e2e test, the desktop benchmark and the screenshot script. Every process
started here is stopped by its own pid when the context ends.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SNI_TOOLS = ("Xvfb", "dbus-daemon", "dbus-monitor", "dbus-send", "dunst", "dunstctl", "xdotool")
SNI_HOSTS = ("status-notifier-watcher", "gtk-sni-tray-standalone")
XEMBED_TOOLS = ("Xvfb", "trayer", "xwininfo")


def host_reading(label: str) -> str:
    """A dbusmenu label as a StatusNotifierItem host shows it: ``_`` marks the shortcut
    (it is not shown), ``__`` is a literal underscore."""
    return label.replace("__", "\0").replace("_", "").replace("\0", "_")


def missing_tools(*names: str) -> list[str]:
    return [name for name in names if shutil.which(name) is None]


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


@dataclass
class Desktop:
    workdir: Path
    env: dict[str, str]
    display: str
    monitor_log: Path | None = None
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, argv: list[str], log_name: str, **kwargs: object) -> subprocess.Popen[bytes]:
        log = (self.workdir / log_name).open("wb")
        process = subprocess.Popen(
            argv,
            env=kwargs.pop("env", self.env),  # type: ignore[arg-type]
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **kwargs,  # type: ignore[call-overload]
        )
        self.processes.append(process)
        return process

    def app_env(self, home: Path, **extra: str) -> dict[str, str]:
        env = dict(self.env)
        env.update({"QT_QPA_PLATFORM": "xcb", "EXLAB_TRAY_HOME": str(home)}, **extra)
        env.pop("EXLAB_TRAY_NOTIFICATIONS", None)
        return env

    def start_app(
        self, home: Path, *args: str, log_name: str = "app.log"
    ) -> subprocess.Popen[bytes]:
        return self.start(
            [sys.executable, "-m", "tray_app", *args],
            log_name,
            env=self.app_env(home),
            cwd=str(REPO),
        )

    def monitor_text(self) -> str:
        if self.monitor_log is None or not self.monitor_log.exists():
            return ""
        return self.monitor_log.read_text(encoding="utf-8", errors="replace")

    def registered_sni_items(self) -> str:
        """The watcher's RegisteredStatusNotifierItems property, as dbus-send prints it."""
        result = subprocess.run(
            [
                "dbus-send",
                "--session",
                "--print-reply",
                "--dest=org.kde.StatusNotifierWatcher",
                "/StatusNotifierWatcher",
                "org.freedesktop.DBus.Properties.Get",
                "string:org.kde.StatusNotifierWatcher",
                "string:RegisteredStatusNotifierItems",
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        return result.stdout if result.returncode == 0 else ""

    def tray_menu_labels(self) -> list[str]:
        """Every label of the tray menu as the StatusNotifierItem host gets it over D-Bus
        (``com.canonical.dbusmenu`` GetLayout), depth first; [] while there is none."""
        from jeepney import DBusAddress, MessageType, Properties, new_method_call
        from jeepney.io.blocking import open_dbus_connection

        # Items are "service/path", or just the service (the path is then the default).
        items = re.findall(r'string "([^"]+)"', self.registered_sni_items())
        if not items:
            return []
        service, _, path = items[0].partition("/")
        with open_dbus_connection(bus=self.env["DBUS_SESSION_BUS_ADDRESS"]) as bus:
            item = DBusAddress(
                f"/{path or 'StatusNotifierItem'}",
                bus_name=service,
                interface="org.kde.StatusNotifierItem",
            )
            reply = bus.send_and_get_reply(Properties(item).get("Menu"), timeout=5)
            if reply.header.message_type is not MessageType.method_return:
                return []
            menu_path = reply.body[0][1]
            menu = DBusAddress(menu_path, bus_name=service, interface="com.canonical.dbusmenu")
            reply = bus.send_and_get_reply(
                new_method_call(menu, "GetLayout", "iias", (0, -1, [])), timeout=5
            )
        labels: list[str] = []

        def walk(node: tuple[int, dict[str, tuple[str, object]], list[tuple[str, object]]]) -> None:
            _id, properties, children = node
            if "label" in properties:
                labels.append(str(properties["label"][1]))
            for _signature, child in children:
                walk(child)  # type: ignore[arg-type]

        walk(reply.body[1])
        return labels

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["import", "-window", "root", str(path)], env=self.env, check=True, timeout=20
        )

    def xdotool(self, *args: str) -> str:
        return self.run_tool("xdotool", *args)

    def run_tool(self, *argv: str) -> str:
        """Run a desktop tool on this display and bus; its stdout ("" on failure)."""
        result = subprocess.run(
            list(argv),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return result.stdout


def _start_xvfb(workdir: Path, size: str) -> tuple[subprocess.Popen[bytes], str]:
    read_fd, write_fd = os.pipe()
    process = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=(workdir / "xvfb.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        process.kill()
        raise RuntimeError("Xvfb did not report a display number")
    return process, f":{number}"


def _start_session_bus(workdir: Path, env: dict[str, str]) -> tuple[int, str]:
    result = subprocess.run(
        ["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    address, pid = result.stdout.split()[:2]
    return int(pid), address


@contextlib.contextmanager
def desktop(
    workdir: Path, *, tray: str = "sni", notifications: bool = True, size: str = "1280x800"
) -> Iterator[Desktop]:
    """A display with a tray host ("sni" or "xembed") and, optionally, dunst."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBUS_", "QT_QPA"))}
    env.pop("WAYLAND_DISPLAY", None)
    xvfb, display = _start_xvfb(workdir, size)
    env["DISPLAY"] = display
    env["NO_AT_BRIDGE"] = "1"
    bus_pid: int | None = None
    session = Desktop(workdir, env, display)
    session.processes.append(xvfb)
    try:
        bus_pid, address = _start_session_bus(workdir, env)
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        session.monitor_log = workdir / "dbus-monitor.log"
        session.start(
            [
                "dbus-monitor",
                "--session",
                "interface='org.freedesktop.Notifications'",
                "interface='org.kde.StatusNotifierWatcher'",
            ],
            "dbus-monitor.log",
        )
        if tray == "sni":
            session.start(["status-notifier-watcher"], "watcher.log")
            wait_for(
                lambda: "StatusNotifierWatcher" in _bus_names(env),
                10,
                "the StatusNotifierWatcher on the bus",
            )
            session.start(["gtk-sni-tray-standalone"], "sni-host.log")
        else:
            session.start(
                [
                    "trayer",
                    "--edge",
                    "top",
                    "--align",
                    "right",
                    "--widthtype",
                    "request",
                    "--height",
                    "28",
                    "--transparent",
                    "true",
                    "--alpha",
                    "0",
                    "--tint",
                    "0xdcdcdc",
                    "--SetDockType",
                    "true",
                ],
                "trayer.log",
            )
            wait_for(lambda: "panel" in _window_tree(env), 10, "trayer's window")
        if notifications:
            session.start(["dunst"], "dunst.log")
            wait_for(
                lambda: "org.freedesktop.Notifications" in _bus_names(env),
                10,
                "dunst on the bus",
            )
        yield session
    finally:
        for process in reversed(session.processes):
            _stop(process)
        if bus_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(bus_pid, signal.SIGTERM)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait(timeout=5)


def _bus_names(env: dict[str, str]) -> str:
    result = subprocess.run(
        [
            "dbus-send",
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.ListNames",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    )
    return result.stdout


def _window_tree(env: dict[str, str]) -> str:
    result = subprocess.run(
        ["xwininfo", "-root", "-tree"],
        env=env,
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    )
    return result.stdout
