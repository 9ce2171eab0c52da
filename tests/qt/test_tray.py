"""The tray draws the menu model: icon, tooltip and menu follow the store, one repaint per turn."""

from __future__ import annotations

import asyncio
import gc

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QMenu

from tests.qt.loop_helpers import settle
from tests.qt.tray_fixtures import done, failed, running, waiting
from tests.support.clock import FakeClock
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import SessionStore
from tray_app.ui.icons import IconSet, icon_path
from tray_app.ui.menu_model import Action, Command, IconState, MenuModel
from tray_app.ui.tray import Tray, find_action, iter_actions
from tray_app.ui.tray_host import label_text


def texts(tray: Tray) -> list[str]:
    return [label_text(a.text(), dbus_menu=False) for _d, a in iter_actions(tray.menu) if a.text()]


def same_icon(first: QIcon, second: QIcon) -> bool:
    return first.pixmap(22, 22).toImage() == second.pixmap(22, 22).toImage()


def test_store_changes_reach_menu_tooltip_and_icon(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore
) -> None:
    tray = Tray(tray_store)
    assert tray.icon.toolTip() == "ExLab Tray: idle"
    assert tray.model.icon_state is IconState.IDLE

    run = running(tray_store, "Run A&B", current=1, total=3, plugin="plate_map")
    settle(tray_loop)
    assert tray.icon.toolTip() == "ExLab Tray: 1 running"
    assert "Run A&B: Running plugins (1 of 3: plate_map)" in texts(tray)
    assert tray.model.icon_state is IconState.WORKING

    ask = waiting(tray_store, "Run screen")
    settle(tray_loop)
    assert tray.icon.toolTip() == "ExLab Tray: 1 needs input, 1 running"
    assert tray.model.icon_state is IconState.NEEDS_INPUT
    assert any(t.startswith("Run screen: plate_map asks") for t in texts(tray))

    tray_store.transition(run.session_id, SessionState.ABORTED, outcome={"code": "cancelled"})
    tray_store.transition(ask.session_id, SessionState.ABORTED, outcome={"code": "cancelled"})
    settle(tray_loop)
    assert tray.icon.toolTip() == "ExLab Tray: idle"
    assert "⊘ Run screen: cancelled" in texts(tray)
    tray.close()


def test_icon_follows_the_state_and_the_palette(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore
) -> None:
    """Offscreen has no colour scheme, so the palette decides (as on desktops without one)."""
    icons = IconSet()
    tray = Tray(tray_store)
    app = QGuiApplication.instance()
    assert isinstance(app, QGuiApplication)
    original = app.palette()
    try:
        for dark in (False, True):
            palette = QPalette(original)
            palette.setColor(QPalette.ColorRole.Window, QColor("#202326" if dark else "#f4f4f4"))
            app.setPalette(palette)
            settle(tray_loop)
            assert same_icon(tray.current_icon(), icons.icon(IconState.IDLE, dark))
            session = waiting(tray_store)
            settle(tray_loop)
            assert same_icon(tray.current_icon(), icons.icon(IconState.NEEDS_INPUT, dark))
            assert not same_icon(tray.current_icon(), icons.icon(IconState.NEEDS_INPUT, not dark))
            tray_store.transition(
                session.session_id, SessionState.ABORTED, outcome={"code": "cancelled"}
            )
            settle(tray_loop)
    finally:
        app.setPalette(original)
        tray.close()


def test_every_state_has_a_light_and_dark_svg_that_renders(qapp: QApplication) -> None:
    icons = IconSet()
    for state in IconState:
        for dark in (False, True):
            assert icon_path(state, "dark" if dark else "light").is_file()
            for size in (16, 22, 32, 64):
                pixmap = icons.icon(state, dark).pixmap(size, size)
                assert pixmap.width() == size
                image = pixmap.toImage()
                assert any(
                    image.pixelColor(x, y).alpha() > 0 for x in range(size) for y in range(size)
                )


def test_states_differ_in_shape_not_only_colour(qapp: QApplication) -> None:
    """Rendered in one flat colour (alpha mask), every pair of states still differs."""
    icons = IconSet()
    masks = {}
    for state in IconState:
        image = icons.icon(state, False).pixmap(22, 22).toImage()
        masks[state] = tuple(
            image.pixelColor(x, y).alpha() > 96 for y in range(22) for x in range(22)
        )
    states = list(IconState)
    for i, first in enumerate(states):
        for second in states[i + 1 :]:
            differing = sum(a != b for a, b in zip(masks[first], masks[second], strict=True))
            assert differing > 12, (first, second, differing)


def test_menu_actions_emit_their_action_via_trigger(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore
) -> None:
    tray = Tray(tray_store)
    ask = waiting(tray_store, "Run screen")
    work = running(tray_store, "Run busy")
    finished = done(tray_store, "Project Alpha")
    broken = failed(tray_store, "Run broken", "plate_map crashed")
    settle(tray_loop)
    seen: list[Action] = []
    tray.action_triggered.connect(seen.append)

    def trigger(text: str) -> None:
        action = find_action(tray.menu, text)
        assert action is not None, (text, texts(tray))
        action.trigger()

    trigger("Run screen: plate_map asks")
    trigger("Details…")  # first Details… is the in-progress session's submenu
    trigger("Cancel…")
    trigger("Open folder")
    trigger("Copy details")
    trigger("New project…")
    trigger("New run…")
    trigger("Open data folder")
    trigger("Settings")
    trigger("Quit")
    assert seen == [
        Action(Command.OPEN_PROMPT, ask.session_id),
        Action(Command.SHOW_DETAILS, work.session_id),
        Action(Command.CANCEL, work.session_id),
        Action(Command.OPEN_FOLDER, finished.session_id),
        Action(Command.COPY_DETAILS, broken.session_id),
        Action(Command.NEW_PROJECT),
        Action(Command.NEW_RUN),
        Action(Command.OPEN_DATA_FOLDER),
        Action(Command.OPEN_SETTINGS),
        Action(Command.QUIT),
    ]
    tray.close()


def test_a_burst_of_changes_is_one_repaint_within_one_loop_turn(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore
) -> None:
    tray = Tray(tray_store)
    painted: list[MenuModel] = []
    tray.repainted.connect(painted.append)
    for i in range(50):
        running(tray_store, f"r{i}", current=1, total=2, plugin="p")
    assert painted == []  # nothing drawn synchronously inside the store's call
    settle(tray_loop, turns=1, pause_s=0)
    assert len(painted) == 1
    assert painted[0].counts.running == 50
    tray.close()


def test_heartbeats_do_not_repaint(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore
) -> None:
    tray = Tray(tray_store)
    session = waiting(tray_store)
    settle(tray_loop)
    painted: list[MenuModel] = []
    tray.repainted.connect(painted.append)
    for _ in range(10):
        tray_store.heartbeat(session.session_id)
    settle(tray_loop)
    assert painted == []
    tray.close()


def test_failures_are_unseen_until_the_menu_was_shown(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore
) -> None:
    tray = Tray(tray_store)
    failed(tray_store)
    settle(tray_loop)
    assert tray.model.icon_state is IconState.FAILED_UNSEEN
    assert tray.icon.toolTip() == "ExLab Tray: 1 failed"
    tray.menu.aboutToShow.emit()
    tray.menu.aboutToHide.emit()
    settle(tray_loop)
    assert tray.model.icon_state is IconState.IDLE
    tray.close()


def test_opening_the_menu_refreshes_the_ages(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore, tray_clock: FakeClock
) -> None:
    tray = Tray(tray_store)
    waiting(tray_store, "Run screen")
    settle(tray_loop)
    assert "Run screen: plate_map asks (just now)" in texts(tray)
    tray_clock.advance(minutes=7)
    tray.menu.aboutToShow.emit()
    assert "Run screen: plate_map asks (7 min)" in texts(tray)
    tray.close()


def test_quitting_flags_show_in_tooltip_and_header(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore
) -> None:
    tray = Tray(tray_store)
    tray.set_flags(quitting=True, quitting_waiting_for=3)
    settle(tray_loop)
    assert tray.icon.toolTip() == "ExLab Tray: Quitting: waiting for 3 sessions"
    assert texts(tray)[0] == "Quitting: waiting for 3 sessions"
    new_project = find_action(tray.menu, "New project…")
    assert new_project is not None and not new_project.isEnabled()
    tray.close()


def test_tray_without_a_store_shows_an_idle_menu_then_attaches(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore
) -> None:
    tray = Tray()
    assert tray.icon.toolTip() == "ExLab Tray: idle"
    running(tray_store)
    tray.attach(tray_store)
    assert tray.icon.toolTip() == "ExLab Tray: 1 running"
    tray.close()


def test_rebuilds_replace_actions_without_leaking_or_emptying_the_menu(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore
) -> None:
    """The menu is never empty mid-rebuild (X11 closes an emptied open menu) and old actions go."""
    tray = Tray(tray_store)
    sizes: list[int] = []
    for i in range(30):
        running(tray_store, f"r{i}")
        tray.repaint_now()
        sizes.append(len(tray.menu.actions()))
    settle(tray_loop)  # old submenus are deleted later, by the event loop
    submenus = tray.menu.findChildren(QMenu, options=Qt.FindChildOption.FindDirectChildrenOnly)
    # Five "In progress" submenus, "Pause notifications", nothing left from 30 rebuilds.
    assert len(submenus) == 6
    assert len(tray.menu.findChildren(QAction)) < 60
    assert all(size > 0 for size in sizes)
    tray.close()


def _menu_wrappers() -> tuple[int, int]:
    """Python wrappers of actions and menus alive now: (all, of objects Qt has deleted)."""
    gc.collect()
    found = [o for o in gc.get_objects() if isinstance(o, (QAction, QMenu))]
    return len(found), sum(1 for o in found if not shiboken6.isValid(o))


def test_rebuilds_leave_no_python_wrappers_behind(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore
) -> None:
    """PySide kept every old action's wrapper (and its connection) in the menu's wrapper for
    as long as the menu lived, after Qt had deleted the action: the tray grew each repaint."""
    for i in range(20):
        done(tray_store, f"Project {i}")
    tray = Tray(tray_store)
    settle(tray_loop)
    before, _ = _menu_wrappers()
    in_menu = sum(1 for _ in iter_actions(tray.menu))
    for i in range(40):
        running(tray_store, f"r{i}")
        tray.repaint_now()
    settle(tray_loop)  # the old actions and submenus are dropped on the next loop turn
    after, deleted_but_kept = _menu_wrappers()
    assert deleted_but_kept == 0
    # At most one more menu's worth (the five "In progress" runs now listed), not 40 rebuilds'.
    assert after - before < in_menu
    tray.close()
