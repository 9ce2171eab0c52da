"""What the desktop app is asked to run with (``Options``), what it is made of once running
(``Parts``, read as ``app.<name>`` through the ``Part`` descriptor), and the autostart
state its menu shows."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

if TYPE_CHECKING:
    from PySide6.QtCore import QTimer

    from tray_app.api.service import ExlabService
    from tray_app.config import LoadedSettings
    from tray_app.desktop_app import DesktopApp
    from tray_app.ui.notifications import Notifier
    from tray_app.ui.quit import QuitCoordinator
    from tray_app.ui.session_actions import SessionActions

__all__ = ["Options", "Part", "Parts", "autostart_menu_state"]

_log = logging.getLogger("tray_app.app")


class Options(NamedTuple):
    """How a DesktopApp was asked to run; None means the default."""

    loaded: LoadedSettings | None
    clock: Callable[[], Any] | None
    tray_available: bool | None
    quit_wait_s: float | None
    api_port: int


T = TypeVar("T")


class Part(Generic[T]):
    """``app.<name>`` reads ``app.parts.<name>``: a part exists once start() made it."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, app: DesktopApp, owner: type | None = None) -> T:
        value: T = getattr(app.parts, self._name)
        return value


@dataclass
class Parts:
    """What the running desktop app is made of, from start() on."""

    loaded: LoadedSettings
    service: ExlabService
    quitter: QuitCoordinator
    actions: SessionActions
    notifier: Notifier
    gc_timer: QTimer


def autostart_menu_state() -> bool | None:
    """Whether the app starts at login; None hides the menu item (no autostart support)."""
    try:
        from tray_app import autostart
    except ImportError:
        return None
    try:
        # The entry may point at a command that moved (reinstall, new venv): fix it first.
        if autostart.repair():
            _log.info("start at login: entry now runs %s", autostart.launch_command())
        return bool(autostart.is_enabled())
    except Exception:
        _log.exception("cannot read the autostart state")
        return None
