"""A failure counts as seen wherever the operator looks at it: the menu, the sessions
window, its details (from the window or a notice), Copy details."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from tests.qt.loop_helpers import wait_until
from tests.qt.tray_fixtures import failed, waiting
from tray_app.app import DesktopApp
from tray_app.ui.menu_model import IconState


@pytest.fixture
def desktop(make_app: Any) -> Iterator[DesktopApp]:
    app, _task = make_app()
    yield app
    app.actions.close_all()


def icon(app: DesktopApp) -> IconState:
    return app.tray.model.icon_state


def test_the_sessions_window_counts_as_seeing_the_failures_it_lists(
    tray_loop: asyncio.AbstractEventLoop, desktop: DesktopApp
) -> None:
    failed(desktop.store, "Run broken")
    wait_until(tray_loop, lambda: icon(desktop) is IconState.FAILED_UNSEEN)
    desktop.actions.show_sessions_window()
    wait_until(tray_loop, lambda: icon(desktop) is IconState.IDLE)
    assert "failed" not in desktop.tray.model.header


def test_details_from_the_window_count_as_seen(
    tray_loop: asyncio.AbstractEventLoop, desktop: DesktopApp
) -> None:
    desktop.actions.show_sessions_window()
    window = desktop.actions.sessions_window
    assert window is not None
    window.hide()
    broken = failed(desktop.store, "Run broken later")
    wait_until(tray_loop, lambda: icon(desktop) is IconState.FAILED_UNSEEN)
    window.handler.show_details(broken.session_id)  # the window's Details… button
    wait_until(tray_loop, lambda: icon(desktop) is IconState.IDLE)
    assert broken.session_id in desktop.actions.details


def test_copy_details_counts_as_seen_and_needs_input_outranks_a_failure(
    tray_loop: asyncio.AbstractEventLoop, desktop: DesktopApp
) -> None:
    waiting(desktop.store, "Run waits")
    broken = failed(desktop.store, "Run broken")
    wait_until(tray_loop, lambda: desktop.tray.model.counts.failed_unseen == 1)
    assert icon(desktop) is IconState.NEEDS_INPUT
    assert desktop.tray.model.header.startswith("1 needs input")
    desktop.actions.copy_details(broken.session_id)
    wait_until(tray_loop, lambda: desktop.tray.model.counts.failed_unseen == 0)
    assert icon(desktop) is IconState.NEEDS_INPUT
