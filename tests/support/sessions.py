"""Sessions built in a given state through the store's real transitions (for the menu,
tray, notification and wording tests)."""

from __future__ import annotations

from typing import Any

from tray_app.sessions.session import Session
from tray_app.sessions.states import SessionKind, SessionState
from tray_app.sessions.store import SessionStore

_TO_PLUGINS = (SessionState.VALIDATING, SessionState.RENDERING, SessionState.PLUGIN_PASS)


def running(store: SessionStore, title: str = "Run calibration", **progress: Any) -> Session:
    session = store.open(SessionKind.RUN, {"project_name": "P"}, title=title)
    for state in _TO_PLUGINS:
        store.transition(session.session_id, state)
    if progress:
        store.report_progress(session.session_id, **progress)
    return session


def waiting(store: SessionStore, title: str = "Run screen", plugin: str = "plate_map") -> Session:
    session = running(store, title)
    store.await_input(
        session.session_id,
        {"plugin": plugin, "reason": "How many samples?", "fields": [], "attempt": 1},
    )
    return session


def done(store: SessionStore, title: str = "Project Alpha", destination: str = "/x") -> Session:
    session = store.open(SessionKind.PROJECT, {"project_name": "Alpha"}, title=title)
    session.destination = destination
    for state in (
        *_TO_PLUGINS,
        SessionState.CACHE_WRITE,
        SessionState.POST_VALIDATE,
        SessionState.SYNC_QUEUED,
    ):
        store.transition(session.session_id, state)
    store.transition(
        session.session_id,
        SessionState.DONE,
        outcome={"path": destination, "sync_status": "queued", "warnings": []},
    )
    return session


def failed(
    store: SessionStore, title: str = "Run broken", message: str = "Plugin crashed"
) -> Session:
    session = running(store, title)
    store.transition(
        session.session_id,
        SessionState.FAILED,
        outcome={"code": "plugin_crashed", "message": message},
    )
    return session


def aborted(store: SessionStore, title: str = "Run stopped", code: str = "cancelled") -> Session:
    session = running(store, title)
    store.transition(session.session_id, SessionState.ABORTED, outcome={"code": code})
    return session
