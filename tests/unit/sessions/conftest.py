"""Fixtures for the session-engine tests: a fake clock the test moves by hand, a store
that reads it, and a helper that walks a session along legal edges to any state."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from tests.support.clock import FakeClock
from tray_app.sessions import TRANSITIONS, Session, SessionState, SessionStore

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


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
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def store(clock: FakeClock) -> SessionStore:
    return SessionStore(clock=clock)


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
