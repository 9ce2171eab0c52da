"""Desktop notices over a real private D-Bus session bus, answered by a notification
daemon written here with jeepney: the Notify call's exact signature, actions coming
back, a hung daemon that must never hold up the caller, and no service at all."""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from jeepney import (
    DBusAddress,
    HeaderFields,
    MatchRule,
    Message,
    message_bus,
    new_method_return,
    new_signal,
)
from jeepney.io.asyncio import DBusRouter, Proxy, open_dbus_router

from tray_app.ui import freedesktop_notify
from tray_app.ui.freedesktop_notify import (
    INTERFACE,
    NOTIFY_SIGNATURE,
    PATH,
    SERVICE,
    FreedesktopNotifications,
)


@pytest.fixture
def session_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private dbus-daemon; DBUS_SESSION_BUS_ADDRESS points at it."""
    if shutil.which("dbus-daemon") is None:
        pytest.skip("dbus-daemon is not installed (scripts/bootstrap.sh test installs it)")
    daemon = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert daemon.stdout is not None
    address = daemon.stdout.readline().strip()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    yield address
    daemon.terminate()
    daemon.wait(timeout=10)
    daemon.stdout.close()


class FakeDaemon:
    """org.freedesktop.Notifications on the test bus, recording every call."""

    def __init__(self, router: DBusRouter, *, answers_notify: bool) -> None:
        self.router = router
        self.answers_notify = answers_notify
        self.calls: list[tuple[str, str, tuple[Any, ...]]] = []
        self.notified = asyncio.Event()
        self._last_id = 0

    async def serve(self) -> None:
        rule = MatchRule(type="method_call", interface=INTERFACE, path=PATH)
        with self.router.filter(rule, bufsize=16) as calls:
            while True:
                call = await calls.get()
                await self._answer(call)

    async def _answer(self, call: Message) -> None:
        member = call.header.fields[HeaderFields.member]
        signature = call.header.fields.get(HeaderFields.signature, "")
        self.calls.append((member, signature, tuple(call.body)))
        if member == "GetCapabilities":
            await self.router.send(new_method_return(call, "as", (["actions", "body"],)))
        elif member == "Notify":
            self.notified.set()
            if self.answers_notify:
                self._last_id += 1
                await self.router.send(new_method_return(call, "u", (self._last_id,)))
        elif member == "CloseNotification":
            await self.router.send(new_method_return(call))

    async def emit(self, member: str, signature: str, body: tuple[Any, ...]) -> None:
        emitter = DBusAddress(PATH, interface=INTERFACE)
        await self.router.send(new_signal(emitter, member, signature, body))


async def start_daemon(answers_notify: bool = True) -> AsyncIterator[FakeDaemon]:
    async with open_dbus_router("SESSION") as router:
        (reply,) = await Proxy(message_bus, router).RequestName(SERVICE, 0)
        assert reply == 1  # primary owner
        daemon = FakeDaemon(router, answers_notify=answers_notify)
        serving = asyncio.create_task(daemon.serve())
        yield daemon
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)


@pytest.fixture
async def daemon(session_bus: str) -> AsyncIterator[FakeDaemon]:
    async for running in start_daemon():
        yield running


@pytest.fixture
async def hung_daemon(session_bus: str) -> AsyncIterator[FakeDaemon]:
    async for running in start_daemon(answers_notify=False):
        yield running


async def connect() -> FreedesktopNotifications:
    notices = await FreedesktopNotifications.connect(
        app_name="ExLab Tray", app_icon="/icons/exlab-tray.svg", desktop_entry="exlab-tray"
    )
    assert notices is not None
    return notices


async def connect_or_none() -> FreedesktopNotifications | None:
    return await FreedesktopNotifications.connect(app_name="a", app_icon="", desktop_entry="")


async def wait_until(condition: Any, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_notify_has_the_freedesktop_signature_and_actions_come_back(
    daemon: FakeDaemon,
) -> None:
    notices = await connect()
    assert notices.capabilities == ["actions", "body"]
    keys: list[str] = []

    notices.show("Input needed", "Run 'r1' asks", [("answer", "Answer…")], keys.append)
    await asyncio.wait_for(daemon.notified.wait(), 5)

    member, signature, body = daemon.calls[-1]
    assert (member, signature) == ("Notify", NOTIFY_SIGNATURE)
    assert body == (
        "ExLab Tray",
        0,
        "/icons/exlab-tray.svg",
        "Input needed",
        "Run 'r1' asks",
        ["answer", "Answer…"],
        {"desktop-entry": ("s", "exlab-tray")},
        -1,
    )
    await wait_until(lambda: 1 in notices._handlers)  # the reply (id 1) was read
    await daemon.emit("ActionInvoked", "us", (99, "answer"))  # not ours: ignored
    await daemon.emit("ActionInvoked", "us", (1, "answer"))
    await wait_until(lambda: keys == ["answer"])
    await daemon.emit("NotificationClosed", "uu", (1, 2))
    await wait_until(lambda: 1 not in notices._handlers)
    await notices.aclose()


async def test_a_withdrawn_notice_is_closed_on_the_daemon(daemon: FakeDaemon) -> None:
    notices = await connect()
    first = notices.show("Input needed", "Run 'r1' asks", [], lambda _key: None)
    await wait_until(lambda: 1 in notices._handlers)  # the daemon's id 1 came back
    notices.withdraw(first)
    await wait_until(lambda: ("CloseNotification", "u", (1,)) in daemon.calls)
    # Withdrawn before its id came back: closed as soon as it does.
    second = notices.show("Input needed", "Run 'r2' asks", [], lambda _key: None)
    notices.withdraw(second)
    await wait_until(lambda: ("CloseNotification", "u", (2,)) in daemon.calls)
    assert 2 not in notices._handlers
    await notices.aclose()


async def test_a_notice_withdrawn_on_the_way_out_still_leaves_the_screen(
    daemon: FakeDaemon,
) -> None:
    notices = await connect()
    ticket = notices.show("Input needed", "Run 'r1' asks", [], lambda _key: None)
    await wait_until(lambda: 1 in notices._handlers)
    notices.withdraw(ticket)
    await notices.aclose()  # at once: the close goes out before the connection does
    assert ("CloseNotification", "u", (1,)) in daemon.calls


async def test_a_hung_daemon_never_holds_up_show(
    hung_daemon: FakeDaemon, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    notices = await connect()
    monkeypatch.setattr(FreedesktopNotifications, "CALL_TIMEOUT_S", 0.3)

    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger=freedesktop_notify.__name__):
        for index in range(5):
            notices.show(f"notice {index}", "", [], lambda _key: None)
        returned_after = time.perf_counter() - started
        await asyncio.wait_for(hung_daemon.notified.wait(), 5)
        await wait_until(lambda: caplog.text.count("Notify failed") == 5)

    assert returned_after < 0.05  # five sends queued, none waited for the daemon
    await notices.aclose()


async def test_no_notification_service_means_no_backend(session_bus: str) -> None:
    assert await connect_or_none() is None


async def test_no_session_bus_means_no_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    assert await connect_or_none() is None


async def test_close_twice_is_harmless_and_later_actions_reach_nobody(daemon: FakeDaemon) -> None:
    notices = await connect()
    keys: list[str] = []
    notices.show("s", "b", [("answer", "Answer…")], keys.append)
    await wait_until(lambda: 1 in notices._handlers)
    notices.close()
    notices.close()
    await notices.aclose()
    # A witness still connected: the daemon's signals reach it in the order they are sent,
    # so once it hears its own action, the one for the closed notice has gone out first.
    witness = await connect()
    heard: list[str] = []
    witness.show("w", "b", [("answer", "Answer…")], heard.append)
    await wait_until(lambda: 2 in witness._handlers)
    await daemon.emit("ActionInvoked", "us", (1, "answer"))
    await daemon.emit("ActionInvoked", "us", (2, "answer"))
    await wait_until(lambda: heard == ["answer"])
    assert keys == []
    await witness.aclose()
