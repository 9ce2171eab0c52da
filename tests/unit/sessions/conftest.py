"""Fixtures for the session-engine tests: a helper that walks a session along legal edges
to any state (``clock`` and ``store`` come from tests/conftest.py, on the default start)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import pytest

from tray_app.sessions import TRANSITIONS, Session, SessionState, SessionStore


def shortest_path(target: SessionState) -> list[SessionState]:
    """States to pass through, after PENDING, to reach ``target`` (BFS over TRANSITIONS)."""
    previous: dict[SessionState, SessionState] = {}
    queue = deque([SessionState.PENDING])
    while queue:
        state = queue.popleft()
        if state is target:
            break
        for nxt in sorted(TRANSITIONS[state]):
            if nxt not in previous and nxt is not SessionState.PENDING:
                previous[nxt] = state
                queue.append(nxt)
    path: list[SessionState] = []
    state = target
    while state is not SessionState.PENDING:
        path.append(state)
        state = previous[state]
    return path[::-1]


Walk = Callable[[Session, SessionState], Session]


@pytest.fixture
def walk(store: SessionStore) -> Walk:
    """Move ``session`` from PENDING to ``target`` along legal edges (no outcome, no close)."""

    def walk_to(session: Session, target: SessionState) -> Session:
        for state in shortest_path(target):
            if state is SessionState.INPUT_REQUIRED:
                store.await_input(session.session_id, {"plugin": "p", "reason": "r"})
            else:
                store.transition(session.session_id, state)
        assert session.state is target
        return session

    return walk_to
