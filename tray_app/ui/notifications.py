"""Desktop notices when a session needs input, fails or is abandoned, coalesced into one per burst.

The backend is chosen at run time: the freedesktop service over QtDBus (with action buttons),
else ``QSystemTrayIcon.showMessage``, else nothing (logged). Acting on a notice becomes a menu
:class:`~tray_app.ui.menu_model.Action`, so it opens the same prompt or details as the menu.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, cast

from PySide6.QtCore import (
    Q_ARG,
    Q_RETURN_ARG,
    SLOT,
    ClassInfo,
    QMetaObject,
    QObject,
    Qt,
    QTimer,
    Slot,
)
from PySide6.QtDBus import QDBusAbstractAdaptor, QDBusConnection, QDBusInterface
from PySide6.QtWidgets import QSystemTrayIcon

from tray_app.sessions.session import Session
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import ABANDONED_CODE, Change, SessionStore
from tray_app.ui.icons import APP_ICON_NAME, icons_dir
from tray_app.ui.menu_model import Action, Command, describe, error_text

_log = logging.getLogger(__name__)

#: Events closer together than this become one notice with a count.
BURST_WINDOW_S = 1.5
#: Environment override of the backend: "freedesktop", "tray" or "none".
BACKEND_ENV = "EXLAB_TRAY_NOTIFICATIONS"
_BURST_BODY_LINES = 5


class EventKind(StrEnum):
    NEEDS_INPUT = "needs_input"
    FAILED = "failed"
    ABANDONED = "abandoned"


@dataclass(frozen=True, slots=True)
class SessionEvent:
    kind: EventKind
    session_id: str
    title: str
    detail: str


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

    def show(self, notice: Notice, on_action: ActionHandler) -> None: ...

    def close(self) -> None: ...


# ---- what to say, and what acting on it does (pure) -----------------------------------------


def event_for(session: Session, change: Change) -> SessionEvent | None:
    """The event worth a notice for this store change, if any."""
    if change is Change.STATE and session.state is SessionState.INPUT_REQUIRED:
        prompt = session.pending_input or {}
        plugin = prompt.get("plugin") or "A plugin"
        reason = str(prompt.get("reason") or "needs your answer")
        return SessionEvent(
            EventKind.NEEDS_INPUT, session.session_id, describe(session), f"{plugin}: {reason}"
        )
    if change is Change.CLOSED and session.state is SessionState.FAILED:
        return SessionEvent(
            EventKind.FAILED, session.session_id, describe(session), error_text(session)
        )
    if (
        change is Change.CLOSED
        and session.state is SessionState.ABORTED
        and (session.result or {}).get("code") == ABANDONED_CODE
    ):
        return SessionEvent(
            EventKind.ABANDONED,
            session.session_id,
            describe(session),
            "Nobody answered its question in time, so it was cancelled.",
        )
    return None


def notice_for(events: list[SessionEvent]) -> Notice:
    """One notice for one event, or a counted summary for several."""
    if len(events) == 1:
        event = events[0]
        if event.kind is EventKind.NEEDS_INPUT:
            return Notice(
                f"Input needed: {event.title}",
                event.detail,
                (("default", "Answer…"), ("answer", "Answer…"), ("details", "Details…")),
                (event,),
            )
        summary = (
            f"Session failed: {event.title}"
            if event.kind is EventKind.FAILED
            else f"Session abandoned: {event.title}"
        )
        return Notice(
            summary, event.detail, (("default", "Details…"), ("details", "Details…")), (event,)
        )
    waiting = sum(1 for e in events if e.kind is EventKind.NEEDS_INPUT)
    others = len(events) - waiting
    parts = []
    if waiting:
        parts.append(f"{waiting} need{'s' if waiting == 1 else ''} input")
    if others:
        parts.append(f"{others} failed or abandoned")
    lines = [f"• {e.title}: {_event_words(e)}" for e in events[:_BURST_BODY_LINES]]
    if len(events) > _BURST_BODY_LINES:
        lines.append(f"… and {len(events) - _BURST_BODY_LINES} more")
    return Notice(
        f"{len(events)} sessions need attention ({', '.join(parts)})",
        "\n".join(lines),
        (("default", "Show sessions…"), ("sessions", "Show sessions…")),
        tuple(events),
    )


def action_for(notice: Notice, key: str) -> Action | None:
    """What choosing ``key`` on ``notice`` does; None for an unknown key."""
    if len(notice.events) != 1:
        return Action(Command.SHOW_SESSIONS) if key in ("default", "sessions") else None
    event = notice.events[0]
    if key == "details":
        return Action(Command.SHOW_DETAILS, event.session_id)
    if key in ("default", "answer"):
        if event.kind is EventKind.NEEDS_INPUT:
            return Action(Command.OPEN_PROMPT, event.session_id)
        return Action(Command.SHOW_DETAILS, event.session_id)
    return None


def _event_words(event: SessionEvent) -> str:
    if event.kind is EventKind.NEEDS_INPUT:
        return "needs input"
    return "failed" if event.kind is EventKind.FAILED else "abandoned"


# ---- coalescing -----------------------------------------------------------------------------

Schedule = Callable[[float, Callable[[], None]], Any]


class Coalescer:
    """A lone event goes out at once; events within the window after it go out as one notice.

    The only timer is a single-shot one that exists while a burst window is open, so an idle
    app has no wakeups from here.
    """

    def __init__(
        self, send: Callable[[Notice], None], schedule: Schedule, window_s: float = BURST_WINDOW_S
    ) -> None:
        self._send = send
        self._schedule = schedule
        self._window_s = window_s
        self._window_open = False
        self._pending: list[SessionEvent] = []

    def push(self, event: SessionEvent) -> None:
        if self._window_open:
            self._pending.append(event)
            return
        self._send(notice_for([event]))
        self._open_window()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _open_window(self) -> None:
        self._window_open = True
        self._schedule(self._window_s, self._window_closed)

    def _window_closed(self) -> None:
        self._window_open = False
        if self._pending:
            events, self._pending = self._pending, []
            self._send(notice_for(events))
            self._open_window()


def qt_schedule(delay_s: float, callback: Callable[[], None]) -> None:
    QTimer.singleShot(round(delay_s * 1000), callback)


# ---- the notifier: store events -> notices -> actions ---------------------------------------


class Notifier(QObject):
    """Watches the store and shows notices; acting on one calls ``dispatch(action)``."""

    def __init__(
        self,
        store: SessionStore,
        backend: NotificationBackend,
        dispatch: Callable[[Action], None],
        *,
        schedule: Schedule = qt_schedule,
        window_s: float = BURST_WINDOW_S,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.backend = backend
        self._dispatch = dispatch
        self._coalescer = Coalescer(self._show, schedule, window_s)
        self._remove_observer = store.add_observer(self._on_change)

    def _on_change(self, session: Session, change: Change) -> None:
        if change is Change.HEARTBEAT:
            return
        event = event_for(session, change)
        if event is not None:
            self._coalescer.push(event)

    def _show(self, notice: Notice) -> None:
        try:
            self.backend.show(notice, lambda key: self._acted(notice, key))
        except Exception:
            # A broken notification service must never break the app.
            _log.exception("could not show a notice via %s", self.backend.name)

    def _acted(self, notice: Notice, key: str) -> None:
        action = action_for(notice, key)
        _log.info("notice %r: action %r -> %s", notice.summary, key, action)
        if action is not None:
            self._dispatch(action)

    def close(self) -> None:
        self._remove_observer()
        self.backend.close()


# ---- backends -------------------------------------------------------------------------------


class NullBackend:
    """No notification service: notices are only logged."""

    name = "none"

    def __init__(self) -> None:
        self.shown: list[Notice] = []

    def show(self, notice: Notice, on_action: ActionHandler) -> None:
        self.shown.append(notice)
        _log.info("notice (no notification service): %s: %s", notice.summary, notice.body)

    def close(self) -> None:
        pass


class TrayMessageBackend(QObject):
    """``QSystemTrayIcon.showMessage``; a click on the balloon acts as "default"."""

    name = "tray"

    def __init__(self, tray_icon: QSystemTrayIcon, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tray_icon = tray_icon
        self._last: ActionHandler | None = None
        tray_icon.messageClicked.connect(self._clicked)

    def show(self, notice: Notice, on_action: ActionHandler) -> None:
        self._last = on_action
        self._tray_icon.showMessage(
            notice.summary, notice.body, QSystemTrayIcon.MessageIcon.Information, 15000
        )

    @Slot()
    def _clicked(self) -> None:
        if self._last is not None:
            self._last("default")

    def close(self) -> None:
        self._last = None


_FDO_SERVICE = "org.freedesktop.Notifications"
_FDO_PATH = "/org/freedesktop/Notifications"
_FDO_INTERFACE = "org.freedesktop.Notifications"
_SHAPE_PATH = "/org/exlab/tray/NotificationsShape"
#: Notify's signature, annotated so QtDBus maps a{sv} to QVariantMap (see _NotifyShape).
_SHAPE_XML = (
    '<interface name="org.freedesktop.Notifications">'
    '<method name="Notify">'
    '<arg type="s" direction="in"/><arg type="u" direction="in"/>'
    '<arg type="s" direction="in"/><arg type="s" direction="in"/>'
    '<arg type="s" direction="in"/><arg type="as" direction="in"/>'
    '<arg type="a{sv}" direction="in"/>'
    '<annotation name="org.qtproject.QtDBus.QtTypeName.In6" value="QVariantMap"/>'
    '<arg type="i" direction="in"/><arg type="u" direction="out"/>'
    "</method>"
    '<method name="CloseNotification"><arg type="u" direction="in"/></method>'
    '<method name="GetCapabilities"><arg type="as" direction="out"/></method>'
    "</interface>"
)


# PySide6's stub types ClassInfo as taking a dict; at run time it takes keywords.
@ClassInfo(**{"D-Bus Interface": _FDO_INTERFACE, "D-Bus Introspection": _SHAPE_XML})  # type: ignore[arg-type]
class _NotifyShape(QDBusAbstractAdaptor):  # type: ignore[operator]
    """Describes Notify's argument types to QtDBus; it handles no calls.

    Why: PySide6 cannot build a D-Bus ``uint`` (ints marshal as ``i``) and the daemons'
    introspection leaves ``a{sv}`` unmapped, so a plain call is refused for its signature.
    QtDBus caches one interface description per interface name, so introspecting this local
    object first makes the daemon's proxy typed: ``invokeMethod`` with ``Q_ARG("uint", ...)``
    then marshals exactly ``(susssasa{sv}i)``.
    """


class FreedesktopBackend(QObject):
    """org.freedesktop.Notifications over QtDBus, with action buttons."""

    name = "freedesktop"

    #: Bounds a call to a hung daemon; a healthy one answers in about a millisecond.
    CALL_TIMEOUT_MS = 1500

    def __init__(self, bus: QDBusConnection, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bus = bus
        self._handlers: dict[int, ActionHandler] = {}
        self._shape_host = QObject(self)
        self._shape = _NotifyShape(self._shape_host)
        bus.registerObject(
            _SHAPE_PATH, self._shape_host, QDBusConnection.RegisterOption.ExportAdaptors
        )
        # Introspecting our own object caches the typed description (see _NotifyShape).
        QDBusInterface(bus.baseService(), _SHAPE_PATH, _FDO_INTERFACE, bus)
        self._proxy = QDBusInterface(_FDO_SERVICE, _FDO_PATH, _FDO_INTERFACE, bus, self)
        self._proxy.setTimeout(self.CALL_TIMEOUT_MS)
        caps = self._proxy.call("GetCapabilities")
        arguments = caps.arguments()
        self.capabilities: list[str] = list(arguments[0]) if arguments else []
        # PySide6 wants SLOT()'s str here although its stub says bytes.
        connect: Any = bus.connect
        connect(
            _FDO_SERVICE,
            _FDO_PATH,
            _FDO_INTERFACE,
            "ActionInvoked",
            self,
            SLOT("on_action_invoked(uint,QString)"),
        )
        connect(
            _FDO_SERVICE,
            _FDO_PATH,
            _FDO_INTERFACE,
            "NotificationClosed",
            self,
            SLOT("on_notification_closed(uint,uint)"),
        )

    @classmethod
    def create(cls, parent: QObject | None = None) -> FreedesktopBackend | None:
        """The backend, or None when there is no session bus or notification service."""
        bus = QDBusConnection.sessionBus()
        if not bus.isConnected():
            return None
        interface = bus.interface()
        if interface is None:
            return None
        registered = interface.isServiceRegistered(_FDO_SERVICE)
        if not registered.value():
            activatable = interface.activatableServiceNames().value() or []
            if _FDO_SERVICE not in activatable:
                return None
        try:
            return cls(bus, parent)
        except Exception:
            _log.exception("freedesktop notifications unavailable")
            return None

    def show(self, notice: Notice, on_action: ActionHandler) -> None:
        actions: list[str] = []
        if "actions" in self.capabilities:
            for key, label in notice.actions:
                actions += [key, label]
        hints = {"desktop-entry": APP_ICON_NAME}
        icon = str(icons_dir() / f"{APP_ICON_NAME}.svg")
        notification_id = QMetaObject.invokeMethod(
            self._proxy,
            "Notify",
            Qt.ConnectionType.DirectConnection,
            Q_RETURN_ARG("uint"),
            Q_ARG("QString", "ExLab Tray"),
            Q_ARG("uint", 0),
            Q_ARG("QString", icon),
            Q_ARG("QString", notice.summary),
            Q_ARG("QString", notice.body),
            Q_ARG("QStringList", actions),
            Q_ARG("QVariantMap", hints),
            Q_ARG("int", -1),
        )
        if notification_id:
            self._handlers[cast(int, notification_id)] = on_action
        else:
            raise RuntimeError(f"Notify failed: {self._proxy.lastError().message()}")

    @Slot("uint", str)
    def on_action_invoked(self, notification_id: int, key: str) -> None:
        handler = self._handlers.get(notification_id)
        if handler is not None:
            handler(key)

    @Slot("uint", "uint")
    def on_notification_closed(self, notification_id: int, reason: int) -> None:
        self._handlers.pop(notification_id, None)

    def close(self) -> None:
        self._handlers.clear()
        self._bus.unregisterObject(_SHAPE_PATH)


def choose_backend(
    tray_icon: QSystemTrayIcon | None, parent: QObject | None = None
) -> NotificationBackend:
    """The best available backend: freedesktop, else the tray balloon, else none."""
    wanted = os.environ.get(BACKEND_ENV, "").strip().lower()
    if wanted in ("", "freedesktop"):
        backend = FreedesktopBackend.create(parent)
        if backend is not None:
            return backend
    if wanted in ("", "tray") and tray_icon is not None and QSystemTrayIcon.supportsMessages():
        return TrayMessageBackend(tray_icon, parent)
    return NullBackend()
