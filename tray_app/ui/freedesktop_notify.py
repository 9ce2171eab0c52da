"""Desktop notices through org.freedesktop.Notifications, without blocking the event loop.

Talks D-Bus with jeepney on the app's asyncio loop (qasync): ``Notify`` is sent
and its reply awaited in a task, so a slow or hung notification daemon delays
only that notice, never the tray. Action buttons come back as ``ActionInvoked``
signals on the same connection. No Qt here.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from jeepney import (
    DBusAddress,
    HeaderFields,
    MatchRule,
    Message,
    MessageType,
    message_bus,
    new_method_call,
)
from jeepney.io.asyncio import DBusRouter, Proxy, open_dbus_router

__all__ = ["FreedesktopNotifications"]

_log = logging.getLogger(__name__)

SERVICE = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
#: Notify(app_name, replaces_id, app_icon, summary, body, actions, hints, expire_timeout)
NOTIFY_SIGNATURE = "susssasa{sv}i"
_SERVICE = DBusAddress(PATH, bus_name=SERVICE, interface=INTERFACE)

ActionHandler = Callable[[str], None]


class FreedesktopNotifications:
    """One session-bus connection to the notification service."""

    name = "freedesktop"

    #: Bounds every call; a healthy daemon answers in about a millisecond.
    CALL_TIMEOUT_S = 1.5

    def __init__(
        self,
        router_context: open_dbus_router,
        router: DBusRouter,
        capabilities: Sequence[str],
        *,
        app_name: str,
        app_icon: str,
        desktop_entry: str,
    ) -> None:
        self._router_context = router_context
        self._router = router
        self.capabilities = list(capabilities)
        self._app_name = app_name
        self._app_icon = app_icon
        self._desktop_entry = desktop_entry
        self._handlers: dict[int, ActionHandler] = {}
        # show() answers at once with a ticket; the daemon's id for it comes later.
        self._tickets = itertools.count(1)
        self._ids: dict[int, int] = {}
        # Tickets whose Notify call has not been answered yet, and those of them withdrawn.
        self._in_flight: set[int] = set()
        self._withdrawn: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        # CloseNotification calls in flight: close() lets them go out (each is bounded)
        # so notices taken back on the way out leave the screen.
        self._closes: set[asyncio.Task[None]] = set()
        self._closing: asyncio.Task[None] | None = None
        self._listener = asyncio.get_running_loop().create_task(
            self._listen(), name="exlab-notify-signals"
        )

    @classmethod
    async def connect(
        cls, *, app_name: str, app_icon: str, desktop_entry: str
    ) -> FreedesktopNotifications | None:
        """Connect, or None when there is no session bus or no notification service."""
        context = open_dbus_router("SESSION")
        try:
            router = await asyncio.wait_for(context.__aenter__(), cls.CALL_TIMEOUT_S)
        except (KeyError, OSError, ValueError, TimeoutError) as exc:
            # KeyError: DBUS_SESSION_BUS_ADDRESS is not set.
            _log.info("no session bus for notifications: %r", exc)
            return None
        try:
            bus = Proxy(message_bus, router)
            (owned,) = await asyncio.wait_for(bus.NameHasOwner(SERVICE), cls.CALL_TIMEOUT_S)
            if not owned:
                (activatable,) = await asyncio.wait_for(
                    bus.ListActivatableNames(), cls.CALL_TIMEOUT_S
                )
                if SERVICE not in activatable:
                    raise LookupError(f"{SERVICE} is neither running nor activatable")
            await asyncio.wait_for(bus.AddMatch(_signals()), cls.CALL_TIMEOUT_S)
            reply = await asyncio.wait_for(
                router.send_and_get_reply(new_method_call(_SERVICE, "GetCapabilities")),
                cls.CALL_TIMEOUT_S,
            )
            capabilities = _body_or_raise(reply)[0]
        except Exception as exc:  # any failure here means "no freedesktop notices"
            _log.info("freedesktop notifications unavailable: %r", exc)
            with contextlib.suppress(Exception):
                await context.__aexit__(None, None, None)
            return None
        return cls(
            context,
            router,
            capabilities,
            app_name=app_name,
            app_icon=app_icon,
            desktop_entry=desktop_entry,
        )

    def show(
        self, summary: str, body: str, actions: Sequence[tuple[str, str]], on_action: ActionHandler
    ) -> int:
        """Send the notice; returns at once with a ticket for :meth:`withdraw`.

        ``actions`` are (key, label) pairs.
        """
        flat: list[str] = []
        if "actions" in self.capabilities:
            for key, label in actions:
                flat += [key, label]
        hints: dict[str, tuple[str, Any]] = {"desktop-entry": ("s", self._desktop_entry)}
        message = new_method_call(
            _SERVICE,
            "Notify",
            NOTIFY_SIGNATURE,
            (self._app_name, 0, self._app_icon, summary, body, flat, hints, -1),
        )
        ticket = next(self._tickets)
        self._in_flight.add(ticket)
        self._start(self._notify(message, on_action, ticket))
        return ticket

    def withdraw(self, ticket: int) -> None:
        """Take the notice of ``ticket`` off the screen (CloseNotification); returns at once.

        A notice whose id has not come back yet is closed as soon as it does.
        """
        notification_id = self._ids.pop(ticket, None)
        if notification_id is None:
            if ticket in self._in_flight:  # else it is closed already, or was never shown
                self._withdrawn.add(ticket)
            return
        self._handlers.pop(notification_id, None)
        self._start(self._close_notification(notification_id), self._closes)

    def _start(self, coroutine: Any, tasks: set[asyncio.Task[None]] | None = None) -> None:
        kept = self._tasks if tasks is None else tasks
        task = asyncio.get_running_loop().create_task(coroutine)
        kept.add(task)
        task.add_done_callback(kept.discard)

    async def _close_notification(self, notification_id: int) -> None:
        message = new_method_call(_SERVICE, "CloseNotification", "u", (notification_id,))
        try:
            await asyncio.wait_for(self._router.send_and_get_reply(message), self.CALL_TIMEOUT_S)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # gone already, or a daemon that does not answer
            _log.info("CloseNotification %s failed: %r", notification_id, exc)

    async def _notify(self, message: Message, on_action: ActionHandler, ticket: int) -> None:
        try:
            await self._send_notify(message, on_action, ticket)
        finally:
            self._in_flight.discard(ticket)
            self._withdrawn.discard(ticket)

    async def _send_notify(self, message: Message, on_action: ActionHandler, ticket: int) -> None:
        try:
            reply = await asyncio.wait_for(
                self._router.send_and_get_reply(message), self.CALL_TIMEOUT_S
            )
            (notification_id,) = _body_or_raise(reply)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A broken notification service must never break the app.
            _log.warning("Notify failed: %r", exc)
            return
        if ticket in self._withdrawn:  # withdrawn while the daemon was answering
            await self._close_notification(notification_id)
            return
        self._handlers[notification_id] = on_action
        self._ids[ticket] = notification_id

    async def _listen(self) -> None:
        with self._router.filter(_signals(), bufsize=64) as signals:
            while True:
                signal = await signals.get()
                member = signal.header.fields.get(HeaderFields.member)
                if member == "ActionInvoked":
                    notification_id, key = signal.body
                    handler = self._handlers.get(notification_id)
                    if handler is not None:
                        try:
                            handler(key)
                        except Exception:
                            _log.exception("acting on notice %s failed", notification_id)
                elif member == "NotificationClosed":
                    closed_id = signal.body[0]
                    self._handlers.pop(closed_id, None)
                    for ticket, notification_id in list(self._ids.items()):
                        if notification_id == closed_id:
                            del self._ids[ticket]

    def close(self) -> None:
        """Stop listening and let go of the connection (finishes in the background).

        Notices withdrawn just before still leave the screen: their CloseNotification
        calls go out first (each bounded by CALL_TIMEOUT_S); sends still waiting on the
        daemon are dropped.
        """
        if self._closing is not None:
            return
        self._handlers.clear()
        for task in (*self._tasks, self._listener):
            task.cancel()
        self._closing = asyncio.get_running_loop().create_task(self._disconnect())

    async def aclose(self) -> None:
        """:meth:`close`, and wait until the connection is closed."""
        self.close()
        if self._closing is not None:
            await self._closing

    async def _disconnect(self) -> None:
        if self._closes:
            await asyncio.wait(set(self._closes))
        with contextlib.suppress(asyncio.CancelledError):
            await self._listener
        with contextlib.suppress(Exception):
            await self._router_context.__aexit__(None, None, None)


def _signals() -> MatchRule:
    return MatchRule(type="signal", interface=INTERFACE, path=PATH)


def _body_or_raise(reply: Message) -> tuple[Any, ...]:
    if reply.header.message_type is MessageType.error:
        name = reply.header.fields.get(HeaderFields.error_name, "an error")
        detail = reply.body[0] if reply.body else ""
        raise RuntimeError(f"{name}: {detail}")
    return tuple(reply.body)
