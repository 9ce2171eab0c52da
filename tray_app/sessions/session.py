"""One creation session, and its JSON handle as the API and the tray show it."""

from __future__ import annotations

import asyncio
import functools
import itertools
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tray_app.sessions.states import (
    TERMINAL_STATES,
    NextAction,
    Phase,
    SessionKind,
    SessionState,
)

if TYPE_CHECKING:
    from tray_app.sessions.subscription import Subscription

JsonDict = dict[str, Any]


#: Timezone-aware UTC now. A partial, not a function: the store reads the clock
#: on every transition, and calling C directly saves a Python frame each time.
utc_now: Callable[[], datetime] = functools.partial(datetime.now, UTC)


def iso_z(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z`` suffix, millisecond precision (for humans and logs).

    On the wire, msgspec encodes the datetimes in handles and frames itself.
    """
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


class Session:
    """State of one session. Mutated only through :class:`SessionStore`.

    A hand-written slotted class rather than a dataclass: the store builds one
    per session on its hot path, and a positional ``__init__`` that sets the
    optional fields from constants costs half of a keyword dataclass call.
    """

    __slots__ = (
        "checkpoint",
        "created_at",
        "current_phase",
        "destination",
        "ended_in_phase",
        "error",
        "event_queue",
        "finished_at",
        "input_since",
        "kind",
        "last_heartbeat",
        "next_action",
        "pending_input",
        "progress",
        "request",
        "result",
        "session_id",
        "state",
        "subscriptions",
        "title",
        "warnings",
    )

    def __init__(
        self,
        session_id: str,
        kind: SessionKind,
        request: Any,
        created_at: datetime,
        *,
        destination: str | None = None,
        title: str = "",
        **seed_fields: Any,
    ) -> None:
        self.session_id = session_id
        self.kind = kind
        self.state: SessionState = _PENDING
        self.request = request
        self.created_at = created_at
        self.last_heartbeat = created_at
        self.destination = destination
        self.title = title
        self.current_phase: Phase | None = None
        self.next_action: NextAction = _NO_ACTION
        self.pending_input: JsonDict | None = None
        self.input_since: datetime | None = None
        self.progress: JsonDict | None = None
        self.warnings: list[str] = []
        #: Phase the session was in when it failed or was aborted.
        self.ended_in_phase: Phase | None = None
        self.error: JsonDict | None = None
        self.result: JsonDict | None = None
        self.finished_at: datetime | None = None
        #: The seed's WebSocket queue (SessionStore.attach_event_queue), or None.
        self.event_queue: asyncio.Queue[JsonDict] | None = None
        #: What the pipeline needs to pick the session up after a restart (opaque
        #: here; set through SessionStore.checkpoint, kept by the journal).
        self.checkpoint: JsonDict | None = None
        #: The store's fan-out list for this session, kept here so that publishing
        #: a frame needs no lookup; empty once the session has finished.
        self.subscriptions: tuple[Subscription, ...] = ()
        if seed_fields:
            self._set_seed_fields(seed_fields)

    def _set_seed_fields(self, fields: dict[str, Any]) -> None:
        """The seed's dataclass fields given as keywords (``state=``, ``result=`` ...).

        Kept off the store's path: ``SessionStore.open`` passes none of them.
        """
        unknown = sorted(fields.keys() - SEED_FIELDS)
        if unknown:
            raise TypeError(f"Session() got unexpected keyword argument(s): {', '.join(unknown)}")
        for name, value in fields.items():
            setattr(self, name, value)
        # The seed's enums were plain strings to its callers; ours want members.
        self.kind = SessionKind(self.kind)
        self.state = SessionState(self.state)
        self.next_action = NextAction(self.next_action)
        if self.current_phase is not None:
            self.current_phase = Phase(self.current_phase)

    def __repr__(self) -> str:
        return f"<Session {self.session_id} {self.kind.value} {self.state.value}>"

    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def outcome(self) -> JsonDict | None:
        return self.error if self.state is SessionState.FAILED else self.result


#: Fields of the seed's ``Session`` dataclass that are not positional here; a program
#: written against the seed builds sessions with them as keywords.
SEED_FIELDS = frozenset(
    {
        "state",
        "last_heartbeat",
        "current_phase",
        "next_action",
        "event_queue",
        "pending_input",
        "error",
        "result",
    }
)

# Enum attribute access costs ~100 ns; the constructor reads these globals instead.
_PENDING = SessionState.PENDING
_NO_ACTION = NextAction.NONE


def to_handle(session: Session) -> JsonDict:
    """The session handle of DESIGN §3, plus ``title``, ``progress``, ``warnings``
    and ``finished_at``.

    Enum members are ``str`` and times are aware datetimes; the wire encoder
    (msgspec) writes them as their values and as ISO-8601 ``Z`` strings.
    """
    return {
        "session_id": session.session_id,
        "kind": session.kind,
        "title": session.title,
        "state": session.state,
        "current_phase": session.current_phase,
        "next_action": session.next_action,
        "created_at": session.created_at,
        "last_heartbeat": session.last_heartbeat,
        "finished_at": session.finished_at,
        "destination": session.destination,
        "pending_input": session.pending_input,
        "progress": session.progress,
        "warnings": list(session.warnings),
        "error": session.error,
        "result": session.result,
    }


def session_ids() -> Iterator[str]:
    """UUID-shaped ids: a random per-store prefix plus a counter, from C iterators.

    ``uuid4()`` costs ~5 µs here, half the budget of a whole session walk;
    ids only need to be unique and opaque, not secret (the API is token-gated).
    """
    prefix = uuid.uuid4().hex[:20]
    template = f"{prefix[:8]}-{prefix[8:12]}-4{prefix[13:16]}-{prefix[16:20]}-{{:012x}}"
    return map(template.format, itertools.count(1))
