"""SessionActions as the menu and the sessions window use them, with the real controller:
cancel with each choice, open folder, prompts for sessions that moved on, failures reported."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from tests.qt.loop_helpers import run, settle, wait_until
from tray_app.config import Settings
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import SessionStore
from tray_app.ui.session_actions import SessionActions

pytestmark = pytest.mark.usefixtures("qtbot")


class UrlRecorder(QObject):
    """Receives file:// URLs instead of the desktop's file manager."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


@pytest.fixture
def opened_urls() -> Any:
    recorder = UrlRecorder()
    QDesktopServices.setUrlHandler("file", recorder, "open")
    yield recorder.urls
    QDesktopServices.unsetUrlHandler("file")


@pytest.fixture
def actions(store: SessionStore, controller: Any, settings: Settings) -> Any:
    session_actions = SessionActions(store, controller, settings)
    yield session_actions
    session_actions.close_all()


def failures(actions: SessionActions) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    actions.action_failed.connect(lambda sid, message: seen.append((sid, message)))
    return seen


@pytest.mark.parametrize("choice", ["keep_files", "discard_files"])
def test_cancel_from_the_window_asks_then_cancels(
    choice: str,
    qloop: asyncio.AbstractEventLoop,
    store: SessionStore,
    actions: SessionActions,
    waiting: str,
) -> None:
    folder = Path(store.get(waiting).destination or "")  # type: ignore[union-attr]
    actions.show_sessions_window()
    window = actions.sessions_window
    assert window is not None
    window.select_session(waiting)
    window.buttons["cancel"].click()
    box = actions.confirm_boxes[waiting]
    assert box.findChild(QPushButton, "keep_editing").text() == "Go back"
    window.buttons["cancel"].click()  # a second request brings the same box forward
    assert list(actions.confirm_boxes) == [waiting]

    box.findChild(QPushButton, choice).click()
    wait_until(qloop, lambda: store.get(waiting).state is SessionState.ABORTED)  # type: ignore[union-attr]
    wait_until(qloop, lambda: folder.exists() is (choice == "keep_files"))
    settle(qloop)
    assert actions.confirm_boxes == {}
    assert not window.buttons["cancel"].isEnabled()


def test_go_back_leaves_the_session_running(
    qloop: asyncio.AbstractEventLoop,
    store: SessionStore,
    actions: SessionActions,
    waiting: str,
) -> None:
    actions.cancel(waiting)
    actions.confirm_boxes[waiting].findChild(QPushButton, "keep_editing").click()
    settle(qloop)
    assert store.get(waiting).state is SessionState.INPUT_REQUIRED  # type: ignore[union-attr]
    assert actions.confirm_boxes == {}


def test_cancel_with_the_prompt_open_asks_in_the_prompt(
    qloop: asyncio.AbstractEventLoop,
    store: SessionStore,
    actions: SessionActions,
    waiting: str,
) -> None:
    actions.open_prompt(waiting)
    actions.open_prompt(waiting)  # focus, not a second dialog
    assert list(actions.prompts) == [waiting]
    prompt = actions.prompts[waiting]
    actions.cancel(waiting)
    assert actions.confirm_boxes == {}
    assert prompt.confirm_box is not None and prompt.confirm_box.isVisible()
    prompt.confirm_box.findChild(QPushButton, "keep_files").click()
    wait_until(qloop, lambda: waiting not in actions.prompts)
    assert store.get(waiting).state is SessionState.ABORTED  # type: ignore[union-attr]


def test_open_folder_opens_the_destination_or_says_why_not(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    store: SessionStore,
    actions: SessionActions,
    opened_urls: list[QUrl],
    waiting: str,
) -> None:
    seen = failures(actions)
    destination = store.get(waiting).destination  # type: ignore[union-attr]
    actions.open_folder(waiting)
    assert [url.toLocalFile() for url in opened_urls] == [destination]

    actions.cancel(waiting)
    actions.confirm_boxes[waiting].findChild(QPushButton, "discard_files").click()
    wait_until(qloop, lambda: not Path(destination or "").exists())
    actions.open_folder(waiting)
    assert len(opened_urls) == 1
    assert seen[-1][0] == waiting
    assert "does not exist" in seen[-1][1]


def test_a_prompt_for_a_session_that_moved_on_shows_its_details(
    qloop: asyncio.AbstractEventLoop,
    controller: Any,
    actions: SessionActions,
    waiting: str,
) -> None:
    run(qloop, controller.cancel(waiting, False))
    actions.open_prompt(waiting)  # e.g. from a stale notification
    assert actions.prompts == {}
    details = actions.details[waiting]
    assert details.values["State"].text() == "Cancelled"
    assert details.values["Problem"].text() == "Cancelled by the operator."


def test_unknown_sessions_are_reported_not_raised(
    qloop: asyncio.AbstractEventLoop, actions: SessionActions
) -> None:
    seen = failures(actions)
    actions.show_details("nope")
    actions.copy_details("nope")
    actions.open_folder("nope")
    actions.cancel("nope")
    assert [sid for sid, _ in seen] == ["nope"] * 4
    assert actions.details == {} and actions.confirm_boxes == {}
