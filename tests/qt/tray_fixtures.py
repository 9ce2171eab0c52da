"""Helpers for the tray app tests (their fixtures live in ``conftest.py``).

The tests step the shared qasync loop themselves (see ``tests.qt.loop_helpers``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tray_app.config import LoadedSettings, Settings, default_settings
from tray_app.sessions.session import Session
from tray_app.sessions.states import SessionKind, SessionState
from tray_app.sessions.store import SessionStore

#: Where the Qt tests' fake clocks start.
START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def loaded_settings(tmp_root: Any, **overrides: Any) -> LoadedSettings:
    """Default settings with the data folder under ``tmp_root`` and ``overrides`` applied."""
    import msgspec

    from tray_app import paths

    base = msgspec.to_builtins(default_settings())
    base["local_root"] = str(tmp_root / "ExLab")
    base.update(overrides)
    settings = msgspec.convert(base, Settings)
    return LoadedSettings(settings, paths.settings_path(), [], from_file=False)


# ---- building sessions in a given state, through the store's real transitions -----------------

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
