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
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import Any

from tray_app.sessions import frames
from tray_app.sessions.changes import (
    ABANDONED_CODE,
    Change,
    Clock,
    GcReport,
    Observer,
    Retention,
    UnknownSession,
)
from tray_app.sessions.edges import EDGES as _EDGES
from tray_app.sessions.edges import Edge
from tray_app.sessions.frames import terminal as _terminal_frame
from tray_app.sessions.gc import StoreGc
from tray_app.sessions.restoring import StoreRestore
from tray_app.sessions.session import JsonDict, Session, to_handle, utc_now
from tray_app.sessions.session import session_ids as _session_ids
from tray_app.sessions.states import (
    TERMINAL_STATES,
    IllegalTransition,
    SessionKind,
    SessionState,
)
from tray_app.sessions.streams import StoreStreams
from tray_app.sessions.subscription import Subscription
from tray_app.sessions.subscription import fan_out as _fan_out
from tray_app.sessions.subscription import stream_name as _stream_name

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


#: open() without a request (neither ``request`` nor the seed's ``req``).
_NO_REQUEST: Any = object()


class SessionStore(StoreGc, StoreStreams, StoreRestore):
    """Sessions keyed by id, with observers, event fan-out (``streams.py``), GC
    (``gc.py``) and restoring an earlier run's sessions (``restoring.py``)."""

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
        # next() on a C iterator: no Python frame per id on the open() path.
        self._ids: Iterator[str] = (
            _session_ids() if id_factory is None else iter(id_factory, _NO_MORE_IDS)
        )
        self._sessions: dict[str, Session] = {}
        # Indexes that keep counts, GC and eviction independent of the total.
        self._live: set[str] = set()
        self._waiting: dict[str, Session] = {}
        # Finished sessions, oldest first; eviction always takes the oldest. A deque,
        # not a dict: a dict emptied from the front makes next(iter()) walk the holes.
        self._finished: deque[Session] = deque()
        # Copy-on-write tuples: callbacks may (un)subscribe while we iterate.
        self._observers: tuple[Observer, ...] = ()
        # Per-session subscriptions live on the session (Session.subscriptions).
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
        request: Any = _NO_REQUEST,
        *,
        destination: str | None = None,
        title: str = "",
        req: Any = _NO_REQUEST,
    ) -> Session:
        """Create a session in PENDING. ``destination`` is fixed from here on.

        ``req`` is the seed's name for ``request``; either may be given, not both.
        """
        session_kind = _KINDS.get(kind)
        if session_kind is None:
            raise ValueError(f"unknown session kind {kind!r}")
        if request is _NO_REQUEST or req is not _NO_REQUEST:
            request = _seed_request(request, req)
        session = Session(
            next(self._ids),
            session_kind,
            request,
            self._clock(),
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
        try:
            session = self._sessions[session_id]
            edge = _EDGES[session.state][new_state]
        except (KeyError, TypeError):  # TypeError: a new state that is not even hashable
            if session_id not in self._sessions:
                raise UnknownSession(session_id) from None
            raise IllegalTransition(self._sessions[session_id].state, new_state) from None
        if not edge.plain:
            self._take_edge(session, edge, outcome)
            return session
        # A plain edge: from one working phase to the next. Nothing is waiting on
        # input, nothing ends; only the state, one frame and the observers. The
        # edge's target, not new_state: a plain string names its state, too.
        session.state = state = edge.target
        session.current_phase = phase = edge.phase
        waiters = self._change_waiters
        if waiters and session_id in waiters:
            self._wake_change_waiters(session_id, state)
        # Publish before notifying: an observer that reacts with another
        # transition must not get its frame out ahead of this one.
        subscriptions = session.subscriptions
        if subscriptions or self._global_subscribers:
            frame = {"kind": _PHASE_KIND, "phase": phase, "at": self._clock()}
            for subscription in subscriptions:  # _fan_out(), inlined
                queue = subscription.queue
                if len(queue) < subscription.room:
                    queue.append(frame)
                elif not subscription.push(frame):
                    _log.warning("dropped slow subscriber of %s", _stream_name(session_id))
            if self._global_subscribers:
                self._publish_global(session_id, frame)
        for observer in self._observers:  # _notify(), inlined: six times per walk
            try:
                observer(session, _STATE)
            except Exception:
                _log.exception("session observer %r failed on %s", observer, _STATE)
        return session

    def _take_edge(self, session: Session, edge: Edge, outcome: JsonDict | None) -> None:
        """Every edge but the plain ones: waiting for input, and the ends."""
        session_id = session.session_id
        new_state = edge.target
        if edge.ends_abnormally:
            session.ended_in_phase = session.current_phase
        if session.state is _INPUT_REQUIRED:
            del self._waiting[session_id]
            session.pending_input = None
            session.input_since = None
        session.state = new_state
        session.current_phase = edge.phase
        session.next_action = edge.next_action
        if edge.terminal:
            self._live.discard(session_id)
        waiters = self._change_waiters
        if waiters and session_id in waiters:
            self._wake_change_waiters(session_id, new_state)
        if new_state is _INPUT_REQUIRED:
            self._waiting[session_id] = session
            session.input_since = self._clock()
            self._publish(session_id, frames.input_required(session.pending_input))
        elif edge.phase is not None and not edge.terminal:
            self._publish(session_id, frames.phase(edge.phase, self._clock()))
        if self._observers:
            self._notify(session, _STATE)
        if outcome is not None and edge.terminal:
            self.close(session_id, outcome)

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

    def checkpoint(self, session_id: str, data: JsonDict) -> None:
        """Keep what the pipeline needs to pick the session up after a restart.

        Opaque to the store; observers (the journal) hear UPDATED.
        """
        session = self._require(session_id)
        session.checkpoint = data
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
        finished = self._finished
        finished.append(session)
        frame = _terminal_frame(session)
        subscriptions = session.subscriptions
        if subscriptions:
            session.subscriptions = ()
            for subscription in subscriptions:
                if not subscription.push_last(frame):
                    _log.warning("dropped slow subscriber of %s", _stream_name(session_id))
        if self._global_subscribers:
            self._publish_global(session_id, frame)
        if self._observers:
            self._notify(session, _CLOSED)
        if len(finished) > self.retention.max_finished:
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

    def publish(self, session_id: str, frame: JsonDict) -> None:
        """Publish a frame the store does not build itself (must not be terminal)."""
        self._require(session_id)
        if frames.is_terminal(frame):
            raise ValueError("terminal frames are published by close()")
        self._publish(session_id, frame)

    def _publish(self, session_id: str, frame: JsonDict) -> None:
        session = self._sessions[session_id]
        if session.subscriptions:
            _fan_out(session.subscriptions, frame, session_id)
        if self._global_subscribers:
            self._publish_global(session_id, frame)

    def _publish_global(self, session_id: str, frame: JsonDict) -> None:
        _fan_out(self._global_subscribers, {"session_id": session_id, **frame}, None)

    def _notify(self, session: Session, change: Change) -> None:
        for observer in self._observers:
            try:
                observer(session, change)
            except Exception:
                # An observer's bug must not break the store or the others.
                _log.exception("session observer %r failed on %s", observer, change)

    def _require(self, session_id: str) -> Session:
        session = self._sessions.get(session_id)
        if session is None:
            raise UnknownSession(session_id)
        return session


_PHASE_KIND = frames.PHASE
#: What iter(id_factory, sentinel) stops at: nothing an id factory returns.
_NO_MORE_IDS = object()
# Both members and their str values find the member (a StrEnum hashes as its value).
_KINDS: dict[object, SessionKind] = {kind.value: kind for kind in SessionKind}
# Enum attribute access costs ~130 ns here; the hot path reads these globals instead.
_PENDING = SessionState.PENDING
_INPUT_REQUIRED = SessionState.INPUT_REQUIRED
_FAILED = SessionState.FAILED
_OPENED = Change.OPENED
_STATE = Change.STATE
_HEARTBEAT = Change.HEARTBEAT
_UPDATED = Change.UPDATED
_CLOSED = Change.CLOSED


def _seed_request(request: Any, req: Any) -> Any:
    """The request of open(), given as ``request`` or as the seed's ``req``."""
    if request is not _NO_REQUEST and req is not _NO_REQUEST:
        raise TypeError("open() takes request or req, not both")
    if request is _NO_REQUEST and req is _NO_REQUEST:
        raise TypeError("open() needs the request (request=... or req=...)")
    return request if req is _NO_REQUEST else req
