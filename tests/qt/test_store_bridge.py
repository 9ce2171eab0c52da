"""The one bridge from store changes to Qt: a burst of changes is one signal on the next
loop turn, heartbeats never make one, one bridge per store, and a session's state changes
of one turn read as its last."""

from __future__ import annotations

import asyncio
import gc
import weakref

from tests.qt.loop_helpers import settle, wait_until
from tests.qt.tray_fixtures import running, waiting
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import Change, SessionStore
from tray_app.ui.store_bridge import StoreBridge, StoreChanges


def recorder(store: SessionStore) -> list[StoreChanges]:
    got: list[StoreChanges] = []
    StoreBridge.of(store).changed.connect(got.append)
    return got


def test_a_burst_is_one_signal_on_the_next_loop_turn(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore
) -> None:
    got = recorder(tray_store)
    first = running(tray_store, "one", current=1, total=2, plugin="p")
    second = waiting(tray_store, "two")
    assert got == []  # nothing inside the turn that made the changes
    wait_until(tray_loop, lambda: bool(got))
    settle(tray_loop)
    [changes] = got
    assert changes.session_ids == {first.session_id, second.session_id}
    assert changes.structure  # two sessions opened
    assert changes.touches(first.session_id) and not changes.touches("other")
    # Per session: opened, its last state change, its last update; in the order they came.
    assert [(s.session_id, c) for s, c in changes] == [
        (first.session_id, Change.OPENED),
        (first.session_id, Change.STATE),
        (first.session_id, Change.UPDATED),
        (second.session_id, Change.OPENED),
        (second.session_id, Change.STATE),
    ]


def test_heartbeats_alone_never_make_a_signal(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore
) -> None:
    session = waiting(tray_store)
    bridge = StoreBridge.of(tray_store)
    bridge.flush()
    got = recorder(tray_store)
    tray_store.heartbeat(session.session_id)
    tray_store.heartbeat(session.session_id)
    # The positive event: a real change after the heartbeats comes through, alone.
    tray_store.transition(session.session_id, SessionState.PLUGIN_PASS)
    wait_until(tray_loop, lambda: bool(got))
    [changes] = got
    assert [c for _, c in changes] == [Change.STATE]


def test_one_bridge_per_store_that_goes_with_its_store(
    tray_loop: asyncio.AbstractEventLoop,
) -> None:
    store = SessionStore()
    bridge = StoreBridge.of(store)
    assert StoreBridge.of(store) is bridge
    assert StoreBridge.of(SessionStore()) is not bridge
    gone = weakref.ref(store)
    del store, bridge
    gc.collect()
    assert gone() is None
