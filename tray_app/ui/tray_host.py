"""Which kind of tray host shows our menu, and how a label must be written for it.

On Linux Qt exports the tray menu over D-Bus (``com.canonical.dbusmenu``) when a
StatusNotifierItem host is registered, and draws its own QMenu otherwise (XEmbed trays,
Windows, macOS). The two read labels differently: Qt's menu takes ``&`` as the mnemonic
marker (``&&`` is a literal ``&``), dbusmenu hosts take ``_`` (``__`` is a literal ``_``)
and Qt does not escape underscores for them. An equipment id like ``Assay_Y`` must read
as typed on both.
"""

from __future__ import annotations

import logging
import sys

from PySide6.QtDBus import QDBus, QDBusConnection, QDBusMessage
from PySide6.QtGui import QGuiApplication

_log = logging.getLogger(__name__)

_WATCHER = "org.kde.StatusNotifierWatcher"
#: How long the one start-up question to the watcher may take (Qt asks it the same way).
_WATCHER_TIMEOUT_MS = 500


def dbus_menu_in_use() -> bool:
    """True when Qt will export the tray menu over D-Bus (a StatusNotifierItem host).

    Mirrors Qt's own choice (QGenericUnixTheme::createPlatformSystemTrayIcon): a
    Unix desktop platform whose StatusNotifierWatcher says a host is registered.
    Ask before the QSystemTrayIcon is made, as Qt does then.
    """
    app = QGuiApplication.instance()
    platform = QGuiApplication.platformName() if app is not None else ""
    if sys.platform in ("win32", "darwin") or platform not in ("xcb", "wayland"):
        return False
    bus = QDBusConnection.sessionBus()
    if not bus.isConnected():
        return False
    message = QDBusMessage.createMethodCall(
        _WATCHER, "/StatusNotifierWatcher", "org.freedesktop.DBus.Properties", "Get"
    )
    message.setArguments([_WATCHER, "IsStatusNotifierHostRegistered"])
    reply = bus.call(message, QDBus.CallMode.Block, _WATCHER_TIMEOUT_MS)
    if reply.type() != QDBusMessage.MessageType.ReplyMessage or not reply.arguments():
        return False
    value = reply.arguments()[0]
    registered = bool(getattr(value, "variant", lambda: value)())
    _log.info("tray menu via %s", "D-Bus (StatusNotifierItem)" if registered else "Qt")
    return registered


def menu_label(text: str, *, dbus_menu: bool) -> str:
    """``text`` written so that the tray host shows it exactly as typed.

    For dbusmenu, Qt turns the first ``&`` of a label into ``_`` and leaves the rest
    (QDBusMenuItem::convertMnemonic); ``&`` means nothing to the host. So only the
    first one is doubled there (``&&`` -> ``_&``, the host shows ``&``).
    """
    if not dbus_menu:
        return text.replace("&", "&&")
    return text.replace("_", "__").replace("&", "&&", 1)


def mnemonic_label(text: str, at: int, *, dbus_menu: bool) -> str:
    """:func:`menu_label` with the character at ``at`` marked as the mnemonic: ``&``
    before it, which Qt's menu underlines and Qt turns into dbusmenu's ``_`` for the host.
    The position, not the letter: "Einstellungen ne&u laden" has a "u" before the marked
    one. Text holding ``&`` or ``_`` itself keeps no mnemonic (the two escapings would
    collide); the labels that have one are the app's own words."""
    if not 0 <= at < len(text) or "&" in text or "_" in text:
        return menu_label(text, dbus_menu=dbus_menu)
    return text[:at] + "&" + text[at:]


def label_text(label: str, *, dbus_menu: bool) -> str:
    """What :func:`menu_label` or :func:`mnemonic_label` was given (to find an entry by the
    words it shows)."""
    if "&&" not in label and label.count("&") == 1:
        return label.replace("&", "")  # a mnemonic marker
    if not dbus_menu:
        return label.replace("&&", "&")
    return label.replace("&&", "&", 1).replace("__", "_")
