"""In-memory store of creation sessions: the single owner of session state.

``transition`` is the only way a session's state, phase and next_action
change. Observers hear about every change; subscribers get the session's
event frames. The GC pass aborts abandoned INPUT_REQUIRED sessions and
evicts finished sessions past the retention bounds. Everything here runs on
one event loop thread and never blocks.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tray_app.sessions import frames
from tray_app.sessions.session import JsonDict, Session, to_handle, utc_now
from tray_app.sessions.states import (
    PHASE_OF_STATE,
    TERMINAL_STATES,
    TRANSITIONS,
    IllegalTransition,
    NextAction,
    Phase,
    SessionKind,
    SessionState,
)
from tray_app.sessions.subscription import SHUTDOWN, Subscription

__all__ = [
    "ABANDONED_CODE",
    "Change",
    "GcReport",
    "Observer",
    "Retention",
    "SessionStore",
    "UnknownSession",
]

_log = logging.getLogger(__name__)

ABANDONED_CODE = "session_abandoned"

Clock = Callable[[], datetime]


class Change(StrEnum):
    """What changed, as told to observers."""

    OPENED = "opened"
    STATE = "state"
    HEARTBEAT = "heartbeat"
    #: Progress, a warning or a pending prompt changed; the state did not.
    UPDATED = "updated"
    CLOSED = "closed"
    EVICTED = "evicted"


Observer = Callable[[Session, Change], None]


class UnknownSession(ValueError):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"unknown session_id {session_id!r}")
        self.session_id = session_id


@dataclass(frozen=True, slots=True)
class Retention:
    """How many finished sessions are kept, and for how long."""

    max_finished: int = 500
    max_age: timedelta = timedelta(days=1)


@dataclass(slots=True)
class GcReport:
    abandoned: list[str] = field(default_factory=list)
    evicted: int = 0


class SessionStore:
    """Sessions keyed by id, with observers, event fan-out and GC."""

    def __init__(
        self,
        *,
        clock: Clock = utc_now,
        abandon_after: timedelta = timedelta(hours=1),
        retention: Retention | None = None,
        subscriber_queue_limit: int = 1024,
        id_factory: Callable[[], str] | None = None,
    ) -> None:
        if subscriber_queue_limit < 2:
            # A finished session's stream alone is two frames (snapshot + end).
            raise ValueError("subscriber_queue_limit must be at least 2")
        self._clock = clock
        self.abandon_after = abandon_after
        self.retention = retention or Retention()
        self._queue_limit = subscriber_queue_limit
        self._new_id = id_factory or _session_ids()
        self._sessions: dict[str, Session] = {}
        # Indexes that keep counts, GC and eviction independent of the total.
        self._live: set[str] = set()
        self._waiting: dict[str, Session] = {}
        self._finished: dict[str, None] = {}  # insertion order == finish order
        # Copy-on-write tuples: callbacks may (un)subscribe while we iterate.
        self._observers: tuple[Observer, ...] = ()
        self._subscribers: dict[str, tuple[Subscription, ...]] = {}
        self._global_subscribers: tuple[Subscription, ...] = ()
        self._change_waiters: dict[str, list[asyncio.Future[SessionState]]] = {}
        self._evictions = 0

    # ---- reading -----------------------------------------------------------
    @property
    def clock(self) -> Clock:
        return self._clock

    def get(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._sessions

    def sessions(self, states: Iterable[SessionState] | None = None) -> list[Session]:
        """Sessions, newest first, optionally only those in ``states``."""
        wanted = None if states is None else frozenset(states)
        return [s for s in reversed(self._sessions.values()) if wanted is None or s.state in wanted]

    @property
    def live_count(self) -> int:
        return len(self._live)

    @property
    def waiting_count(self) -> int:
        return len(self._waiting)

    @property
    def finished_count(self) -> int:
        return len(self._finished)

    def handle(self, session_id: str) -> JsonDict:
        return to_handle(self._require(session_id))

    # ---- lifecycle -----------------------------------------------------------
    def open(
        self,
        kind: SessionKind | str,
        request: Any,
        *,
        destination: str | None = None,
        title: str = "",
    ) -> Session:
        """Create a session in PENDING. ``destination`` is fixed from here on."""
        session_kind = _KINDS.get(kind)
        if session_kind is None:
            raise ValueError(f"unknown session kind {kind!r}")
        now = self._clock()
        session = Session(
            session_id=self._new_id(),
            kind=session_kind,
            state=_PENDING,
            request=request,
            created_at=now,
            last_heartbeat=now,
            destination=destination,
            title=title,
        )
        session_id = session.session_id
        self._sessions[session_id] = session
        self._live.add(session_id)
        if self._global_subscribers:
            self._publish_global(session_id, frames.opened(to_handle(session)))
        if self._observers:
            self._notify(session, _OPENED)
        return session

    def transition(
        self, session_id: str, new_state: SessionState, *, outcome: JsonDict | None = None
    ) -> Session:
        """Move a session along a legal edge; illegal edges raise IllegalTransition.

        Entering a state with a phase publishes its frame. A terminal state's
        frame goes out with :meth:`close`, which this calls when ``outcome``
        is given.
        """
        session = self._sessions.get(session_id)
        if session is None:
            raise UnknownSession(session_id)
        old_state = session.state
        if new_state not in _EDGES[old_state]:
            raise IllegalTransition(old_state, new_state)
        entry = _ENTRY[new_state]
        if entry.ends_abnormally:
            session.ended_in_phase = session.current_phase
        session.state = new_state
        session.current_phase = entry.phase
        session.next_action = entry.next_action
        if old_state is _INPUT_REQUIRED:
            del self._waiting[session_id]
            session.pending_input = None
            session.input_since = None
        if entry.terminal:
            self._live.discard(session_id)
        if session_id in self._change_waiters:
            self._wake_change_waiters(session_id, new_state)
        # Publish before notifying: an observer that reacts with another
        # transition must not get its frame out ahead of this one.
        if new_state is _INPUT_REQUIRED:
            self._waiting[session_id] = session
            session.input_since = self._clock()
            self._publish(session_id, frames.input_required(session.pending_input))
        elif entry.announced_phase is not None:
            self._publish(session_id, frames.phase(entry.announced_phase, self._clock()))
        if self._observers:
            self._notify(session, _STATE)
        if outcome is not None and entry.terminal:
            self.close(session_id, outcome)
        return session

    def await_input(self, session_id: str, prompt: JsonDict) -> Session:
        """Enter INPUT_REQUIRED with ``prompt`` ({plugin, reason, fields, attempt})."""
        session = self._require(session_id)
        previous = session.pending_input
        session.pending_input = prompt
        try:
            return self.transition(session_id, SessionState.INPUT_REQUIRED)
        except Exception:
            session.pending_input = previous
            raise

    def report_progress(self, session_id: str, current: int, total: int, plugin: str) -> None:
        session = self._require(session_id)
        frame = frames.progress(current, total, plugin)
        session.progress = frame
        self._publish(session_id, frame)
        if self._observers:
            self._notify(session, _UPDATED)

    def warn(self, session_id: str, message: str) -> None:
        session = self._require(session_id)
        session.warnings.append(message)
        self._publish(session_id, frames.warning(session.current_phase, message))
        if self._observers:
            self._notify(session, _UPDATED)

    def heartbeat(self, session_id: str) -> None:
        """Refresh the heartbeat; an unknown id is a no-op (stale clients are normal)."""
        session = self._sessions.get(session_id)
        if session is None:
            return
        session.last_heartbeat = self._clock()
        if self._observers:
            self._notify(session, _HEARTBEAT)

    def close(self, session_id: str, outcome: JsonDict) -> None:
        """Stamp a terminal session with its outcome and publish the terminal frame.

        FAILED keeps the outcome in ``error``; DONE and ABORTED in ``result``.
        An unknown id is a no-op; a session that is not terminal raises ValueError.
        Closing twice only restamps the outcome (observers hear UPDATED).
        """
        session = self._sessions.get(session_id)
        if session is None:
            return
        state = session.state
        if state not in TERMINAL_STATES:
            raise ValueError(f"session {session_id} is {state.value}, not terminal")
        if state is _FAILED:
            session.error = outcome
        else:
            session.result = outcome
        if session.finished_at is not None:
            if self._observers:
                self._notify(session, _UPDATED)
            return
        session.finished_at = self._clock()
        self._finished[session_id] = None
        self._publish(session_id, _terminal_frame(session))
        subscribers = self._subscribers.pop(session_id, None)
        if subscribers:
            for subscription in subscribers:
                subscription.finish()
        if self._observers:
            self._notify(session, _CLOSED)
        if len(self._finished) > self.retention.max_finished:
            self._evict_over_count()

    # ---- waiting for a session ---------------------------------------------------
    def next_transition(self, session_id: str) -> asyncio.Future[SessionState]:
        """A future resolved with the state of the session's next transition.

        This is how the GC wakes whoever waits on a session it aborts. A session
        that is already terminal will never move again: its future is resolved
        at once with the terminal state, so no caller can wait forever.
        """
        session = self._require(session_id)
        future: asyncio.Future[SessionState] = asyncio.get_running_loop().create_future()
        if session.state in TERMINAL_STATES:
            future.set_result(session.state)
        else:
            self._change_waiters.setdefault(session_id, []).append(future)
        return future

    def _wake_change_waiters(self, session_id: str, state: SessionState) -> None:
        for future in self._change_waiters.pop(session_id):
            if not future.done():
                future.set_result(state)

    # ---- observers and subscribers ----------------------------------------------
    def add_observer(self, observer: Observer) -> Callable[[], None]:
        """Call ``observer(session, change)`` after every change. Returns a remover."""
        self._observers = (*self._observers, observer)

        def remove() -> None:
            self._observers = tuple(o for o in self._observers if o is not observer)

        return remove

    def subscribe(self, session_id: str) -> Subscription:
        """Frames of one session: a snapshot first, then every later frame.

        On a finished session: the snapshot and its terminal frame, then the end.
        """
        session = self._require(session_id)
        subscription = Subscription(self._queue_limit, self._detach_from(session_id))
        subscription.push(frames.snapshot(to_handle(session)))
        if session.finished_at is not None:
            subscription.push(_terminal_frame(session))
            subscription.finish()
            return subscription
        self._subscribers[session_id] = (*self._subscribers.get(session_id, ()), subscription)
        return subscription

    def subscribe_all(self) -> Subscription:
        """Frames of every session, each with ``session_id``; a snapshot of all first."""
        subscription = Subscription(self._queue_limit, self._detach_global)
        handles = [to_handle(s) for s in self._sessions.values()]
        subscription.push(frames.snapshot_all(handles))
        self._global_subscribers = (*self._global_subscribers, subscription)
        return subscription

    def subscriber_count(self, session_id: str | None = None) -> int:
        if session_id is None:
            return len(self._global_subscribers)
        return len(self._subscribers.get(session_id, ()))

    def close_all_subscriptions(self, reason: str = SHUTDOWN) -> None:
        """End every stream, e.g. on shutdown."""
        for subscriptions in list(self._subscribers.values()):
            for subscription in subscriptions:
                subscription.finish(reason)
        for subscription in self._global_subscribers:
            subscription.finish(reason)

    def _detach_from(self, session_id: str) -> Callable[[Subscription], None]:
        def detach(subscription: Subscription) -> None:
            current = self._subscribers.get(session_id)
            if current is None:  # close() already let go of them all
                return
            remaining = tuple(s for s in current if s is not subscription)
            if remaining:
                self._subscribers[session_id] = remaining
            else:
                self._subscribers.pop(session_id, None)

        return detach

    def _detach_global(self, subscription: Subscription) -> None:
        self._global_subscribers = tuple(
            s for s in self._global_subscribers if s is not subscription
        )

    def publish(self, session_id: str, frame: JsonDict) -> None:
        """Publish a frame the store does not build itself (must not be terminal)."""
        self._require(session_id)
        if frames.is_terminal(frame):
            raise ValueError("terminal frames are published by close()")
        self._publish(session_id, frame)

    def _publish(self, session_id: str, frame: JsonDict) -> None:
        subscriptions = self._subscribers.get(session_id)
        if subscriptions:
            for subscription in subscriptions:
                if not subscription.push(frame):
                    _log.warning("dropped slow subscriber of session %s", session_id)
        if self._global_subscribers:
            self._publish_global(session_id, frame)

    def _publish_global(self, session_id: str, frame: JsonDict) -> None:
        tagged = {"session_id": session_id, **frame}
        for subscription in self._global_subscribers:
            if not subscription.push(tagged):
                _log.warning("dropped slow subscriber of all sessions")

    def _notify(self, session: Session, change: Change) -> None:
        for observer in self._observers:
            try:
                observer(session, change)
            except Exception:
                # An observer's bug must not break the store or the others.
                _log.exception("session observer %r failed on %s", observer, change)

    # ---- GC and retention ---------------------------------------------------------
    def abandoned_older_than(self, age: timedelta) -> list[str]:
        """Ids of INPUT_REQUIRED sessions whose last heartbeat is older than ``age``."""
        threshold = self._clock() - age
        return [sid for sid, s in self._waiting.items() if s.last_heartbeat < threshold]

    def gc_once(self, abandon_after: timedelta | None = None) -> GcReport:
        """One GC pass: abort abandoned waiting sessions, evict past retention.

        Cost grows with waiting sessions plus evicted ones, not with the total.
        """
        age = self.abandon_after if abandon_after is None else abandon_after
        report = GcReport()
        evictions_before = self._evictions
        minutes = max(1, round(age.total_seconds() / 60))
        for session_id in self.abandoned_older_than(age):
            # An observer of an earlier abort may already have moved this one on.
            if session_id not in self._waiting:
                continue
            outcome = {
                "code": ABANDONED_CODE,
                "message": f"No client heartbeat for over {minutes} minutes; "
                "the session was abandoned.",
            }
            self.transition(session_id, SessionState.ABORTED, outcome=outcome)
            report.abandoned.append(session_id)
            _log.info("GC aborted abandoned session %s", session_id)
        self._evict_over_count()
        self._evict_over_age()
        # Aborts above may already have evicted on close(); they count too.
        report.evicted = self._evictions - evictions_before
        return report

    async def gc_loop(self, interval_s: float = 300.0) -> None:
        """Run :meth:`gc_once` every ``interval_s`` (headless mode; the tray uses a QTimer)."""
        while True:
            await asyncio.sleep(interval_s)
            self.gc_once()

    def _evict_over_count(self) -> None:
        limit = max(0, self.retention.max_finished)
        while len(self._finished) > limit:
            self._evict(next(iter(self._finished)))

    def _evict_over_age(self) -> None:
        """Evict finished sessions older than the retention age, oldest first.

        ``_finished`` is in finish order, so this stops at the first one kept.
        """
        cutoff = self._clock() - self.retention.max_age
        while self._finished:
            oldest = self._sessions[next(iter(self._finished))]
            if oldest.finished_at is None or oldest.finished_at >= cutoff:
                break
            self._evict(oldest.session_id)

    def _evict(self, session_id: str) -> None:
        # close() already ended the session's subscriptions and transition()
        # woke its waiters, so only the indexes and the observers are left.
        del self._finished[session_id]
        session = self._sessions.pop(session_id)
        self._evictions += 1
        if self._observers:
            self._notify(session, _EVICTED)

    def _require(self, session_id: str) -> Session:
        session = self._sessions.get(session_id)
        if session is None:
            raise UnknownSession(session_id)
        return session


@dataclass(frozen=True, slots=True)
class _Entry:
    """What entering a state does, precomputed once so ``transition`` stays cheap."""

    phase: Phase | None
    next_action: NextAction
    terminal: bool
    #: FAILED and ABORTED remember the phase they interrupted.
    ends_abnormally: bool
    #: The phase a "phase" frame announces on entry. DONE and INPUT_REQUIRED have
    #: their own frames (from close() and await_input()), so None there too.
    announced_phase: Phase | None


_ENTRY: dict[SessionState, _Entry] = {
    state: _Entry(
        phase=PHASE_OF_STATE.get(state),
        next_action=NextAction.AWAITING_INPUT
        if state is SessionState.INPUT_REQUIRED
        else NextAction.NONE,
        terminal=state in TERMINAL_STATES,
        ends_abnormally=state in (SessionState.FAILED, SessionState.ABORTED),
        announced_phase=None
        if state in (SessionState.DONE, SessionState.INPUT_REQUIRED)
        else PHASE_OF_STATE.get(state),
    )
    for state in SessionState
}
_EDGES = dict(TRANSITIONS)
# Both members and their str values find the member (a StrEnum hashes as its value).
_KINDS: dict[object, SessionKind] = {kind.value: kind for kind in SessionKind}
# Enum attribute access costs ~130 ns here; the hot path reads these globals instead.
_PENDING = SessionState.PENDING
_INPUT_REQUIRED = SessionState.INPUT_REQUIRED
_DONE = SessionState.DONE
_FAILED = SessionState.FAILED
_OPENED = Change.OPENED
_STATE = Change.STATE
_HEARTBEAT = Change.HEARTBEAT
_UPDATED = Change.UPDATED
_CLOSED = Change.CLOSED
_EVICTED = Change.EVICTED


def _terminal_frame(session: Session) -> JsonDict:
    """The frame that ends a closed session's stream."""
    outcome = session.outcome or {}
    if session.state is _DONE:
        return frames.done(outcome)
    if session.state is _FAILED:
        return frames.failed(session.ended_in_phase, outcome)
    return frames.aborted(outcome)


def _session_ids() -> Callable[[], str]:
    """UUID-shaped ids: a random per-store prefix plus a counter.

    ``uuid4()`` costs ~5 µs here, half the budget of a whole session walk;
    ids only need to be unique and opaque, not secret (the API is token-gated).
    """
    prefix = uuid.uuid4().hex[:20]
    head = f"{prefix[:8]}-{prefix[8:12]}-4{prefix[13:16]}-{prefix[16:20]}-"
    counter = 0

    def next_id() -> str:
        nonlocal counter
        counter += 1
        return f"{head}{counter:012x}"

    return next_id
