"""An interrupted session's Start again and Discard folder, from its details dialog,
through a real controller: a new session with the same request, and the unfinished
folder removed only after the operator confirms."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMessageBox

from tests.qt.loop_helpers import wait_until
from tray_app.config import Settings
from tray_app.creation.recovery import interrupted_outcome
from tray_app.creation.requests import ProjectRequest, request_to_dict
from tray_app.sessions.states import Phase, SessionKind, SessionState
from tray_app.sessions.store import SessionStore
from tray_app.ui.session_actions import SessionActions


def interrupted_project(store: SessionStore, settings: Settings, name: str) -> tuple[str, Path]:
    """A project session cut short while rendering, as a restart leaves it."""
    folder = Path(settings.local_root) / "TECAN" / name
    (folder / ".exlab-wizard").mkdir(parents=True)
    (folder / "half-written.txt").write_text("partial\n")
    request = ProjectRequest(equipment_id="TECAN", project_name=name, operator="ada")
    session = store.open(SessionKind.PROJECT, request_to_dict(request), destination=str(folder))
    store.transition(session.session_id, SessionState.VALIDATING)
    store.transition(session.session_id, SessionState.RENDERING)
    outcome = interrupted_outcome(Phase.RENDERING_TEMPLATE, str(folder))
    store.transition(session.session_id, SessionState.ABORTED, outcome=outcome)
    return session.session_id, folder


def test_discard_asks_then_removes_the_folder_and_start_again_makes_a_new_session(
    qloop: asyncio.AbstractEventLoop, store: SessionStore, controller: Any, settings: Settings
) -> None:
    sid, folder = interrupted_project(store, settings, "Gamma")
    actions = SessionActions(store, controller, settings)
    created: list[dict[str, Any]] = []
    actions.session_created.connect(created.append)
    actions.show_details(sid)
    dialog = actions.details[sid]
    assert dialog.discard_button.isVisibleTo(dialog)
    assert dialog.start_again_button.isVisibleTo(dialog)

    # Discard: nothing happens until the operator says "Delete folder".
    dialog.discard_button.click()
    box = actions.confirm_boxes[sid]
    keep = next(b for b in box.buttons() if box.buttonRole(b) is QMessageBox.ButtonRole.RejectRole)
    keep.click()
    wait_until(qloop, lambda: sid not in actions.confirm_boxes)
    assert folder.exists()
    dialog.discard_button.click()
    box = actions.confirm_boxes[sid]
    delete = next(
        b for b in box.buttons() if box.buttonRole(b) is QMessageBox.ButtonRole.DestructiveRole
    )
    delete.click()
    wait_until(qloop, lambda: not folder.exists())
    wait_until(qloop, lambda: not dialog.discard_button.isVisibleTo(dialog))

    # Start again: a new project session of the same name, into the freed folder.
    dialog.start_again_button.click()
    wait_until(qloop, lambda: bool(created))
    new_id = created[0]["session_id"]
    assert new_id != sid

    def finished() -> bool:
        session = store.get(new_id)
        return session is not None and session.is_terminal()

    wait_until(qloop, finished)
    again = store.get(new_id)
    assert again is not None and again.state is SessionState.DONE, again.outcome
    assert (folder / ".exlab-wizard" / "creation.json").is_file()
    old = store.get(sid)
    assert old is not None and (old.outcome or {}).get("started_again") == new_id
    wait_until(qloop, lambda: not dialog.start_again_button.isVisibleTo(dialog))
    actions.close_all()
