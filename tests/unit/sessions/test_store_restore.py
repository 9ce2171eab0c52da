"""SessionStore.restore and SessionStore.checkpoint: putting back sessions of an earlier
run as they were, in retention order, and keeping the pipeline's checkpoint."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.clock import FakeClock
from tray_app.sessions import (
    Change,
    Retention,
    Session,
    SessionKind,
    SessionState,
    SessionStore,
)

S = SessionState


def old_session(clock: FakeClock, session_id: str, state: SessionState, **finished) -> Session:
    session = Session(session_id, SessionKind.RUN, {"label": session_id}, clock() - timedelta(1))
    session.state = state
    if finished:
        session.finished_at = clock() - timedelta(**finished)
    return session


async def test_restore_indexes_and_retention(clock: FakeClock) -> None:
    store = SessionStore(clock=clock, retention=Retention(max_finished=2))
    heard = []
    store.add_observer(lambda s, c: heard.append((s.session_id, c)))
    live = store.open("run", {"label": "new"})
    store.transition(live.session_id, S.ABORTED, outcome={"code": "cancelled"})
    waiting = old_session(clock, "w", S.INPUT_REQUIRED)
    waiting.pending_input = {"plugin": "p", "fields": []}
    store.restore(
        [
            old_session(clock, "a", S.DONE, minutes=30),
            old_session(clock, "b", S.FAILED, minutes=10),
            waiting,
            old_session(clock, "r", S.RENDERING),
        ]
    )
    # The oldest finished one goes first, wherever it was inserted.
    assert "a" not in store and "b" in store and live.session_id in store
    assert heard[-1] == ("a", Change.EVICTED)
    assert store.waiting_count == 1 and store.live_count == 2
    # Its last heartbeat is a day old: the abandon clock ran on while the app was down.
    assert store.abandoned_older_than(timedelta(hours=1)) == ["w"]
    future = store.next_transition("w")
    store.transition("w", S.ABORTED, outcome={"code": "interrupted"})
    assert future.result() is S.ABORTED
    with pytest.raises(ValueError, match="already in the store"):
        store.restore([old_session(clock, "w", S.DONE, minutes=1)])


async def test_restore_without_a_finish_time_uses_now(clock: FakeClock) -> None:
    store = SessionStore(clock=clock)
    store.restore([old_session(clock, "x", S.ABORTED)])
    assert store.get("x").finished_at == clock()


async def test_checkpoint_is_kept_and_observed(clock: FakeClock) -> None:
    store = SessionStore(clock=clock)
    heard = []
    session = store.open("project", {})
    store.add_observer(lambda s, c: heard.append(c))
    store.checkpoint(session.session_id, {"plugins": []})
    assert session.checkpoint == {"plugins": []} and heard == [Change.UPDATED]
