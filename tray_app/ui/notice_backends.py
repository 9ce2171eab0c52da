"""Where desktop notices go: the notice itself, and the backends that show it, chosen at run
time: the freedesktop service over D-Bus (with action buttons), else the tray's
``QSystemTrayIcon.showMessage`` balloon, else nothing (logged). Never raises for want of a
notification service.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QSystemTrayIcon

from tray_app.ui.freedesktop_notify import FreedesktopNotifications
from tray_app.ui.icons import APP_ICON_NAME, icons_dir
from tray_app.ui.notification_policy import SessionEvent

_log = logging.getLogger(__name__)

#: Environment override of the backend: "freedesktop", "tray" or "none".
BACKEND_ENV = "EXLAB_TRAY_NOTIFICATIONS"


@dataclass(frozen=True, slots=True)
class Notice:
    """One desktop notice. ``actions`` are (key, label) pairs; "default" is a click on the body."""

    summary: str
    body: str
    actions: tuple[tuple[str, str], ...]
    events: tuple[SessionEvent, ...]


ActionHandler = Callable[[str], None]


class NotificationBackend(Protocol):
    name: str

    def show(self, notice: Notice, on_action: ActionHandler) -> object | None:
        """Show ``notice``; a handle for :meth:`withdraw`, or None where it cannot be."""
        ...

    def withdraw(self, handle: object) -> None:
        """Take a shown notice away (its question was answered meanwhile)."""
        ...

    def close(self) -> None: ...

    async def closed(self) -> None:
        """Wait until :meth:`close` has let go of everything (most let go at once)."""
        ...


# ---- backends -------------------------------------------------------------------------------


class NullBackend:
    """No notification service: notices are only logged."""

    name = "none"

    def __init__(self) -> None:
        self.shown: list[Notice] = []
        self.withdrawn: list[Notice] = []

    def show(self, notice: Notice, on_action: ActionHandler) -> object | None:
        self.shown.append(notice)
        _log.info("notice (no notification service): %s: %s", notice.summary, notice.body)
        return notice

    def withdraw(self, handle: object) -> None:
        assert isinstance(handle, Notice)
        self.withdrawn.append(handle)

    def close(self) -> None:
        pass

    async def closed(self) -> None:
        pass


class TrayMessageBackend(QObject):
    """``QSystemTrayIcon.showMessage``; a click on the balloon acts as "default"."""

    name = "tray"

    def __init__(self, tray_icon: QSystemTrayIcon, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tray_icon = tray_icon
        self._last: ActionHandler | None = None
        tray_icon.messageClicked.connect(self._clicked)

    def show(self, notice: Notice, on_action: ActionHandler) -> object | None:
        self._last = on_action
        self._tray_icon.showMessage(
            notice.summary, notice.body, QSystemTrayIcon.MessageIcon.Information, 15000
        )
        return None  # Qt cannot take a balloon back; it goes by itself after 15 s

    def withdraw(self, handle: object) -> None:
        pass

    @Slot()
    def _clicked(self) -> None:
        if self._last is not None:
            self._last("default")

    def close(self) -> None:
        self._last = None

    async def closed(self) -> None:
        pass


class FreedesktopBackend:
    """org.freedesktop.Notifications with action buttons; sends never block (see
    :mod:`tray_app.ui.freedesktop_notify`)."""

    name = "freedesktop"

    def __init__(self, connection: FreedesktopNotifications) -> None:
        self.connection = connection

    @classmethod
    async def connect(cls) -> FreedesktopBackend | None:
        """The backend, or None when there is no session bus or notification service."""
        connection = await FreedesktopNotifications.connect(
            app_name="ExLab Tray",
            app_icon=str(icons_dir() / f"{APP_ICON_NAME}.svg"),
            desktop_entry=APP_ICON_NAME,
        )
        return None if connection is None else cls(connection)

    def show(self, notice: Notice, on_action: ActionHandler) -> object | None:
        return self.connection.show(notice.summary, notice.body, notice.actions, on_action)

    def withdraw(self, handle: object) -> None:
        assert isinstance(handle, int)
        self.connection.withdraw(handle)

    def close(self) -> None:
        self.connection.close()

    async def closed(self) -> None:
        """Wait until :meth:`close` has let go of the bus connection."""
        await self.connection.aclose()


async def choose_backend(
    tray_icon: QSystemTrayIcon | None, parent: QObject | None = None
) -> NotificationBackend:
    """The best available backend: freedesktop, else the tray balloon, else none."""
    wanted = os.environ.get(BACKEND_ENV, "").strip().lower()
    if wanted in ("", "freedesktop"):
        backend = await FreedesktopBackend.connect()
        if backend is not None:
            return backend
    if wanted in ("", "tray") and tray_icon is not None and QSystemTrayIcon.supportsMessages():
        return TrayMessageBackend(tray_icon, parent)
    return NullBackend()
