"""The tray icon, its tooltip and its menu: draws the pure menu model with Qt.

Store changes arrive once per loop turn from the store's bridge (``store_bridge.py``), so a
burst of changes costs one rebuild and an idle app has no timer at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction, QFont, QGuiApplication, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from tray_app.sessions.states import SessionState
from tray_app.sessions.store import Change, SessionStore
from tray_app.ui.icons import IconSet, prefers_dark
from tray_app.ui.menu_model import (
    Action,
    Command,
    Entry,
    IconState,
    MenuFlags,
    MenuModel,
    build_menu,
)
from tray_app.ui.store_bridge import StoreBridge, StoreChanges
from tray_app.ui.timers import make_timer
from tray_app.ui.tray_host import dbus_menu_in_use, label_text, menu_label, mnemonic_label

#: A QMenu property: its labels are written for a dbusmenu host (see tray_host).
_DBUS_MENU = "exlab_dbus_menu"


class Tray(QObject):
    """Owns the QSystemTrayIcon and its QMenu; emits ``action_triggered(Action)``."""

    action_triggered = Signal(object)
    #: Emitted after each repaint with the model drawn (benchmarks and tests wait on it).
    repainted = Signal(object)

    def __init__(self, store: SessionStore | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store: SessionStore | None = None
        self._bridge: StoreBridge | None = None
        self._icons = IconSet()
        self._flags = MenuFlags()
        self._unseen_failures: set[str] = set()
        self._model: MenuModel | None = None
        self._dark: bool | None = None
        self._icon_state: IconState | None = None

        self.menu = QMenu()
        # Asked before the QSystemTrayIcon exists, as Qt decides then where the menu goes.
        self.menu.setProperty(_DBUS_MENU, dbus_menu_in_use())
        self.menu.aboutToShow.connect(self._menu_about_to_show)
        self.menu.aboutToHide.connect(self._menu_hidden)
        self.icon = QSystemTrayIcon(self)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)

        # Coalesces the tray's own changes (flags, seen failures, theme); store changes
        # come already coalesced, once per loop turn, from the store's bridge.
        self._repaint_timer = make_timer(self, self.repaint_now)
        # The menu's old actions and submenus, detached by render_menu, until the next loop
        # turn: dropping them then deletes them (never while one of them is being triggered).
        self._retired: list[QObject] = []
        self._retire_timer = make_timer(self, self._retired.clear)

        hints = QGuiApplication.styleHints()
        hints.colorSchemeChanged.connect(self._theme_changed)
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.paletteChanged.connect(self._theme_changed)
        if store is not None:
            self.attach(store)
        else:
            self.repaint_now()

    def attach(self, store: SessionStore) -> None:
        """Show ``store``'s sessions (the tray may be shown before the store exists)."""
        self._detach()
        self._store = store
        self._bridge = StoreBridge.of(store)
        self._bridge.changed.connect(self._on_store_changes)
        self.repaint_now()

    def _detach(self) -> None:
        if self._bridge is not None:
            self._bridge.changed.disconnect(self._on_store_changes)
            self._bridge = None

    # ---- state the menu shows besides sessions -----------------------------------------------
    @property
    def model(self) -> MenuModel:
        assert self._model is not None
        return self._model

    @property
    def flags(self) -> MenuFlags:
        return self._flags

    def set_flags(self, **changes: Any) -> None:
        """Change app flags (quitting, quitting_waiting_for, autostart_enabled,
        settings_problems) and repaint."""
        self._flags = replace(self._flags, **changes)
        self.schedule_repaint()

    def mark_failures_seen(self, session_id: str | None = None) -> None:
        if session_id is None:
            self._unseen_failures.clear()
        else:
            self._unseen_failures.discard(session_id)
        self.schedule_repaint()

    # ---- repainting --------------------------------------------------------------------------
    @Slot(object)
    def _on_store_changes(self, changes: StoreChanges) -> None:
        for session, change in changes:
            if change is Change.CLOSED and session.state is SessionState.FAILED:
                self._unseen_failures.add(session.session_id)
            elif change is Change.EVICTED:
                self._unseen_failures.discard(session.session_id)
        self.repaint_now()

    def schedule_repaint(self) -> None:
        if not self._repaint_timer.isActive():
            self._repaint_timer.start()

    @Slot()
    def repaint_now(self) -> None:
        self._repaint_timer.stop()
        self._flags = replace(self._flags, unseen_failures=frozenset(self._unseen_failures))
        flags = self._flags
        store = self._store
        if store is None:
            model = build_menu((), datetime.now(UTC), flags)
        else:
            model = build_menu(store.sessions(), store.clock(), flags)
        if model != self._model:
            self._model = model
            self.icon.setToolTip(model.tooltip)
            self._retired.extend(render_menu(self.menu, model, self.action_triggered.emit))
            self._retire_timer.start()
        self._update_icon(model.icon_state)
        self.repainted.emit(model)

    def _update_icon(self, state: IconState) -> None:
        dark = prefers_dark()
        if state is self._icon_state and dark == self._dark:
            return
        self._icon_state, self._dark = state, dark
        self.icon.setIcon(self._icons.icon(state, dark))

    def current_icon(self) -> QIcon:
        return self.icon.icon()

    @Slot()
    def _theme_changed(self) -> None:
        self._dark = None
        self.schedule_repaint()

    @Slot()
    def _menu_about_to_show(self) -> None:
        # Ages ("asks (4 min)") are refreshed when the menu opens instead of on a timer.
        self.repaint_now()

    @Slot()
    def _menu_hidden(self) -> None:
        # The operator has now seen the failures listed under "Recent".
        if self._unseen_failures:
            self.mark_failures_seen()

    @Slot(QSystemTrayIcon.ActivationReason)
    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.action_triggered.emit(Action(Command.SHOW_SESSIONS))

    def close(self) -> None:
        self._detach()
        self._repaint_timer.stop()
        self._retire_timer.stop()
        self._retired.clear()
        self.icon.hide()


def render_menu(menu: QMenu, model: MenuModel, trigger: Callable[[Action], None]) -> list[QObject]:
    """Rebuild ``menu`` from ``model``; each entry with an action calls ``trigger(action)``.
    Returns the old actions and submenus, detached: the caller keeps them until the next
    loop turn, and dropping them then deletes them (see :func:`_detach`).

    The new actions are added before the old ones go: on X11 a QMenu that is emptied while
    open (``clear()``) closes, and sessions change while the operator reads the menu.
    """
    old = menu.actions()
    old_submenus = _submenus(menu)
    dbus_menu = bool(menu.property(_DBUS_MENU))
    first = True
    for section in model.sections:
        if not first:
            menu.addSeparator()
        first = False
        if section.title:
            title = menu.addAction(menu_label(section.title, dbus_menu=dbus_menu))
            title.setEnabled(False)
            font = QFont(title.font())
            font.setBold(True)
            title.setFont(font)
        for entry in section.entries:
            _add_entry(menu, entry, trigger, dbus_menu)
    return _detach(menu, old, old_submenus)


def _detach(menu: QMenu, old: list[QAction], old_submenus: dict[QAction, QMenu]) -> list[QObject]:
    """Take the old actions this menu owns and its old submenus (each with its actions) out
    of it, owned by their Python wrappers from now on.

    Why not ``deleteLater()``: PySide keeps the wrapper of every object made with the menu
    as its parent in the menu's own wrapper (its parent record) until the menu dies, even
    once Qt has deleted the object. The tray's menu lives as long as the app, so every
    repaint kept its old actions' wrappers and their connections: ~40 KiB a repaint with 20
    sessions listed, for good (benchmarks/README.md, 2026-12-01 fifth stop).
    ``setParent(None)`` takes the wrapper out of that record and gives the object to it.
    Deleting at once (``shiboken6.delete``) corrupts PySide's ownership records, and the
    menu's own deletion then crashes.
    """
    menu_pointer = shiboken6.getCppPointer(menu)
    detached: list[QObject] = []
    for qaction in old:
        menu.removeAction(qaction)
        owner = qaction.parent()
        if owner is not None and shiboken6.getCppPointer(owner) == menu_pointer:
            qaction.setParent(None)
            detached.append(qaction)
    for submenu in old_submenus.values():
        submenu.setParent(None)
        detached.append(submenu)
    return detached


def _submenus(menu: QMenu) -> dict[QAction, QMenu]:
    """``menu``'s submenus by their menu action.

    Why not ``QAction.menu()``: in PySide6 6.12 it returns None without a reference, and
    enough calls free None itself (the interpreter aborts at exit).
    """
    children = menu.findChildren(QMenu, options=Qt.FindChildOption.FindDirectChildrenOnly)
    return {child.menuAction(): child for child in children}


def _add_entry(
    menu: QMenu, entry: Entry, trigger: Callable[[Action], None], dbus_menu: bool
) -> None:
    label = entry_label(entry, dbus_menu=dbus_menu)
    if entry.children:
        submenu = menu.addMenu(label)
        submenu.setToolTipsVisible(True)
        submenu.menuAction().setToolTip(entry.tooltip)
        for child in entry.children:
            _add_entry(submenu, child, trigger, dbus_menu)
        return
    qaction = menu.addAction(label)
    qaction.setEnabled(entry.enabled)
    if entry.tooltip:
        qaction.setToolTip(entry.tooltip)
    if entry.checkable:
        qaction.setCheckable(True)
        qaction.setChecked(entry.checked)
    action = entry.action
    if action is not None:
        qaction.triggered.connect(lambda _checked=False, a=action: trigger(a))
    menu.setToolTipsVisible(True)


def entry_label(entry: Entry, *, dbus_menu: bool) -> str:
    """The entry's label for this host, with its mnemonic marked when it has one."""
    if entry.mnemonic_at is not None:
        return mnemonic_label(entry.label, entry.mnemonic_at, dbus_menu=dbus_menu)
    return menu_label(entry.label, dbus_menu=dbus_menu)


def iter_actions(menu: QMenu, depth: int = 0) -> Iterator[tuple[int, QAction]]:
    """Every action of ``menu`` and its submenus, depth first, with its depth."""
    submenus = _submenus(menu)
    for qaction in menu.actions():
        yield depth, qaction
        sub = submenus.get(qaction)
        if sub is not None:
            yield from iter_actions(sub, depth + 1)


def find_action(menu: QMenu, text: str) -> QAction | None:
    """The first action whose text, as the host shows it, starts with ``text``."""
    dbus_menu = bool(menu.property(_DBUS_MENU))
    for _depth, qaction in iter_actions(menu):
        if label_text(qaction.text(), dbus_menu=dbus_menu).startswith(text):
            return qaction
    return None
