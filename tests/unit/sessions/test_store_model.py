"""The store run against a plain model by hypothesis: random opens, legal and illegal
transitions, prompts, heartbeats, clock moves, GC passes, (un)subscriptions and closes.
After every step the counts, states, frames each subscriber got, observer calls and
retention bounds must match the model."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)

from tray_app.sessions import (
    Change,
    IllegalTransition,
    Retention,
    SessionState,
    SessionStore,
    Subscription,
    UnknownSession,
)

S = SessionState
ABANDON_AFTER = timedelta(minutes=10)
RETENTION = Retention(max_finished=3, max_age=timedelta(minutes=30))

# The model's own copy of DESIGN §2, independent of tray_app.sessions.states.
FORWARD = {
    S.PENDING: {S.VALIDATING},
    S.VALIDATING: {S.RENDERING},
    S.RENDERING: {S.PLUGIN_PASS},
    S.PLUGIN_PASS: {S.INPUT_REQUIRED, S.CACHE_WRITE},
    S.INPUT_REQUIRED: {S.PLUGIN_PASS},
    S.CACHE_WRITE: {S.POST_VALIDATE},
    S.POST_VALIDATE: {S.SYNC_QUEUED},
    S.SYNC_QUEUED: {S.DONE},
}
TERMINAL = {S.DONE: "done", S.FAILED: "failed", S.ABORTED: "aborted"}
PHASE = {
    S.VALIDATING: "validating_inputs",
    S.RENDERING: "rendering_template",
    S.PLUGIN_PASS: "running_plugins",
    S.INPUT_REQUIRED: "input_required",
    S.CACHE_WRITE: "writing_cache",
    S.POST_VALIDATE: "validating_post_creation",
    S.SYNC_QUEUED: "queueing_nas_sync",
    S.DONE: "done",
}


def legal(current: SessionState, new: SessionState) -> bool:
    if current in TERMINAL:
        return False
    return new in FORWARD[current] or new in (S.FAILED, S.ABORTED)


def forward_path(start: SessionState, target: SessionState) -> list[SessionState]:
    """States after ``start`` on the shortest forward path to ``target`` ([] if none)."""
    paths: dict[SessionState, list[SessionState]] = {start: []}
    frontier = [start]
    while frontier and target not in paths:
        state = frontier.pop(0)
        for new_state in sorted(FORWARD.get(state, ())):
            if new_state not in paths:
                paths[new_state] = [*paths[state], new_state]
                frontier.append(new_state)
    return paths.get(target, [])


@dataclass
class ModelSession:
    state: SessionState = S.PENDING
    heartbeat: datetime | None = None
    closed_at: datetime | None = None
    #: Entered INPUT_REQUIRED through await_input(), so a prompt is pending.
    prompted: bool = False


@dataclass
class ModelSubscription:
    subscription: Subscription
    session_id: str | None  # None: the all-sessions stream
    expected: list[Any] = field(default_factory=list)
    #: False once the store will push nothing more to it.
    open: bool = True


class StoreMachine(RuleBasedStateMachine):
    session_ids = Bundle("session_ids")
    subscriptions = Bundle("subscriptions")

    def __init__(self) -> None:
        super().__init__()
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
        self.store = SessionStore(
            clock=lambda: self.now,
            abandon_after=ABANDON_AFTER,
            retention=RETENTION,
            subscriber_queue_limit=100_000,
        )
        self.sessions: dict[str, ModelSession] = {}  # open order, like the store
        self.waiting: dict[str, None] = {}  # order of entering INPUT_REQUIRED
        self.finished: list[str] = []  # close order of retained sessions
        self.streams: list[ModelSubscription] = []
        self.changes: list[tuple[str, Change]] = []
        self.expected_changes: list[tuple[str, Change]] = []
        self.store.add_observer(lambda s, change: self.changes.append((s.session_id, change)))

    # ---- model bookkeeping -----------------------------------------------------------
    def expect_frame(self, session_id: str, kind: str) -> None:
        for stream in self.streams:
            if not stream.open:
                continue
            if stream.session_id is None:
                stream.expected.append((session_id, kind))
            elif stream.session_id == session_id:
                stream.expected.append(kind)

    def enter(self, session_id: str, state: SessionState) -> None:
        model = self.sessions[session_id]
        if model.state is S.INPUT_REQUIRED:
            del self.waiting[session_id]
        model.state = state
        model.prompted = False
        if state is S.INPUT_REQUIRED:
            self.waiting[session_id] = None
            self.expect_frame(session_id, "input_required")
        elif state in PHASE and state is not S.DONE:
            self.expect_frame(session_id, "phase")
        self.expected_changes.append((session_id, Change.STATE))

    def close(self, session_id: str) -> None:
        model = self.sessions[session_id]
        model.closed_at = self.now
        self.finished.append(session_id)
        self.expect_frame(session_id, TERMINAL[model.state])
        for stream in self.streams:
            if stream.session_id == session_id:
                stream.open = False
        self.expected_changes.append((session_id, Change.CLOSED))
        while len(self.finished) > RETENTION.max_finished:
            self.evict(self.finished[0])

    def evict(self, session_id: str) -> None:
        self.finished.remove(session_id)
        del self.sessions[session_id]
        self.expected_changes.append((session_id, Change.EVICTED))

    # ---- rules ---------------------------------------------------------------------------
    @initialize(target=session_ids)
    def first_session(self) -> str:
        return self.open_session("project")

    @rule(target=session_ids, kind=st.sampled_from(["project", "run"]))
    def open_session(self, kind: str) -> str:
        session = self.store.open(kind, {"kind": kind})
        self.sessions[session.session_id] = ModelSession(heartbeat=self.now)
        self.expect_frame(session.session_id, "opened")
        self.expected_changes.append((session.session_id, Change.OPENED))
        return session.session_id

    @rule(
        session_id=session_ids,
        new_state=st.sampled_from(list(S)),
        with_outcome=st.booleans(),
    )
    def transition(self, session_id: str, new_state: SessionState, with_outcome: bool) -> None:
        outcome = {"code": "model"} if with_outcome else None
        model = self.sessions.get(session_id)
        if model is None:
            with pytest.raises(UnknownSession):
                self.store.transition(session_id, new_state, outcome=outcome)
            return
        if not legal(model.state, new_state):
            with pytest.raises(IllegalTransition):
                self.store.transition(session_id, new_state, outcome=outcome)
            return
        self.store.transition(session_id, new_state, outcome=outcome)
        self.enter(session_id, new_state)
        if outcome is not None and new_state in TERMINAL:
            self.close(session_id)

    @rule(session_id=session_ids, goal=st.sampled_from([*FORWARD, S.DONE]))
    def run_to(self, session_id: str, goal: SessionState) -> None:
        """Legal forward moves up to ``goal`` (if it lies ahead), so deep states are common."""
        model = self.sessions.get(session_id)
        path = [] if model is None else forward_path(model.state, goal)
        for new_state in path:
            if new_state is S.INPUT_REQUIRED:
                self.await_input(session_id)
            else:
                self.transition(session_id, new_state, with_outcome=True)

    @rule(session_id=session_ids)
    def await_input(self, session_id: str) -> None:
        prompt = {"plugin": "p", "reason": "r", "fields": [], "attempt": 1}
        model = self.sessions.get(session_id)
        if model is None or model.state is not S.PLUGIN_PASS:
            expected = UnknownSession if model is None else IllegalTransition
            with pytest.raises(expected):
                self.store.await_input(session_id, prompt)
            return
        self.store.await_input(session_id, prompt)
        self.enter(session_id, S.INPUT_REQUIRED)
        model.prompted = True

    @rule(session_id=session_ids)
    def heartbeat(self, session_id: str) -> None:
        self.store.heartbeat(session_id)
        model = self.sessions.get(session_id)
        if model is not None:
            model.heartbeat = self.now
            self.expected_changes.append((session_id, Change.HEARTBEAT))

    @rule(session_id=session_ids)
    def warn(self, session_id: str) -> None:
        if session_id not in self.sessions:
            with pytest.raises(UnknownSession):
                self.store.warn(session_id, "careful")
            return
        self.store.warn(session_id, "careful")
        self.expect_frame(session_id, "warning")
        self.expected_changes.append((session_id, Change.UPDATED))

    @rule(minutes=st.integers(min_value=0, max_value=25))
    def advance_clock(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule(minutes_later=st.sampled_from([0, 5, 15, 45]))
    def gc(self, minutes_later: int) -> None:
        """A GC pass, often after enough time for abandonment or age eviction."""
        self.now += timedelta(minutes=minutes_later)
        report = self.store.gc_once()
        threshold = self.now - ABANDON_AFTER
        abandoned = [
            sid
            for sid in self.waiting
            if (heartbeat := self.sessions[sid].heartbeat) is not None and heartbeat < threshold
        ]
        evicted_before = sum(1 for _, change in self.expected_changes if change is Change.EVICTED)
        for session_id in abandoned:
            self.enter(session_id, S.ABORTED)
            self.close(session_id)
        cutoff = self.now - RETENTION.max_age
        while self.finished:
            closed_at = self.sessions[self.finished[0]].closed_at
            assert closed_at is not None
            if closed_at >= cutoff:
                break
            self.evict(self.finished[0])
        evicted = sum(1 for _, change in self.expected_changes if change is Change.EVICTED)
        event(f"gc pass: abandoned {len(abandoned) > 0}, evicted {evicted > evicted_before}")
        assert report.abandoned == abandoned
        assert report.evicted == evicted - evicted_before
        for session_id in abandoned:
            session = self.store.get(session_id)
            if session is not None:
                assert session.result is not None
                assert session.result["code"] == "session_abandoned"

    @rule(session_id=session_ids)
    def close_session(self, session_id: str) -> None:
        model = self.sessions.get(session_id)
        if model is not None and model.state not in TERMINAL:
            with pytest.raises(ValueError, match="not terminal"):
                self.store.close(session_id, {"code": "closed"})
            return
        self.store.close(session_id, {"code": "closed"})
        if model is None:
            return
        if model.closed_at is None:
            self.close(session_id)
        else:
            self.expected_changes.append((session_id, Change.UPDATED))

    @rule(target=subscriptions, session_id=session_ids)
    def subscribe(self, session_id: str) -> Any:
        model = self.sessions.get(session_id)
        if model is None:
            with pytest.raises(UnknownSession):
                self.store.subscribe(session_id)
            return multiple()
        stream = ModelSubscription(self.store.subscribe(session_id), session_id)
        stream.expected.append(("snapshot", model.state.value))
        if model.closed_at is not None:
            stream.expected.append(TERMINAL[model.state])
            stream.open = False
        self.streams.append(stream)
        return stream

    @rule(target=subscriptions)
    def subscribe_all(self) -> ModelSubscription:
        stream = ModelSubscription(self.store.subscribe_all(), None)
        stream.expected.append(("snapshot", tuple(self.sessions)))
        self.streams.append(stream)
        return stream

    @rule(stream=subscriptions)
    def unsubscribe(self, stream: ModelSubscription) -> None:
        stream.subscription.close()
        stream.expected.clear()  # queued frames are dropped
        stream.open = False

    # ---- invariants --------------------------------------------------------------------
    @invariant()
    def counts_match(self) -> None:
        states = [m.state for m in self.sessions.values()]
        assert len(self.store) == len(self.sessions)
        assert self.store.live_count == sum(s not in TERMINAL for s in states)
        assert self.store.waiting_count == len(self.waiting) == states.count(S.INPUT_REQUIRED)
        assert self.store.finished_count == len(self.finished) <= RETENTION.max_finished

    @invariant()
    def sessions_match(self) -> None:
        assert [s.session_id for s in self.store.sessions()] == list(reversed(self.sessions))
        for session_id, model in self.sessions.items():
            session = self.store.get(session_id)
            assert session is not None
            assert session.state is model.state
            phase = session.current_phase
            assert (None if phase is None else phase.value) == PHASE.get(model.state)
            awaiting = "awaiting_input" if model.state is S.INPUT_REQUIRED else "none"
            assert session.next_action.value == awaiting
            assert (session.pending_input is not None) == model.prompted
            assert session.last_heartbeat == model.heartbeat
            assert session.finished_at == model.closed_at

    @invariant()
    def observers_heard_every_change(self) -> None:
        assert self.changes == self.expected_changes
        self.changes.clear()
        self.expected_changes.clear()

    @invariant()
    def subscribers_got_their_frames(self) -> None:
        for stream in self.streams:
            got: list[Any] = []
            while (frame := stream.subscription.get_nowait()) is not None:
                if stream.session_id is None:
                    if frame["kind"] == "snapshot":
                        got.append(("snapshot", tuple(h["session_id"] for h in frame["sessions"])))
                    else:
                        got.append((frame["session_id"], frame["kind"]))
                elif frame["kind"] == "snapshot":
                    got.append(("snapshot", frame["session"]["state"]))
                else:
                    got.append(frame["kind"])
            assert got == stream.expected
            stream.expected.clear()
            assert stream.subscription.closed is not stream.open
        per_session: dict[str, int] = {}
        for stream in self.streams:
            if stream.open and stream.session_id is not None:
                per_session[stream.session_id] = per_session.get(stream.session_id, 0) + 1
        for session_id in self.sessions:
            assert self.store.subscriber_count(session_id) == per_session.get(session_id, 0)
        assert self.store.subscriber_count() == sum(
            1 for s in self.streams if s.open and s.session_id is None
        )


StoreMachine.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=30,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestStoreModel = StoreMachine.TestCase
