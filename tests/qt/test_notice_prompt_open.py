"""No "Input needed" notice for a question whose prompt dialog is already open."""

from __future__ import annotations

import asyncio

from tests.qt.test_notifications import ManualTimers, RecordingBackend
from tests.qt.tray_fixtures import deliver, waiting
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import SessionStore
from tray_app.ui.notifications import Notifier


def test_a_question_in_an_open_prompt_is_not_notified_again(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore
) -> None:
    backend = RecordingBackend()
    timers = ManualTimers()
    notifier = Notifier(tray_store, backend, lambda _a: None, schedule=timers)
    open_prompts: set[str] = set()
    notifier.prompt_in_view = open_prompts.__contains__
    first = waiting(tray_store, "Run one")
    deliver(tray_store)
    assert [n.summary for n, _act in backend.shown] == ["Input needed: Run one"]
    # The operator opens it; the plugin asks again (attempt 2) while the dialog is up.
    open_prompts.add(first.session_id)
    tray_store.transition(first.session_id, SessionState.PLUGIN_PASS)
    prompt = {"plugin": "plate_map", "reason": "Too many.", "fields": [], "attempt": 2}
    tray_store.await_input(first.session_id, prompt)
    second = waiting(tray_store, "Run two")
    deliver(tray_store)
    timers.fire()  # the end of the burst window: one notice, Run two's alone
    # Run two's question is new; Run one's is on screen already.
    assert [n.summary for n, _act in backend.shown] == [
        "Input needed: Run one",
        "Input needed: Run two",
    ]
    assert second.session_id not in open_prompts
    notifier.close()
