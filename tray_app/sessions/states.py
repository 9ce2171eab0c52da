"""The session state machine as data: states, phases, legal edges.

Every other module reads the machine from here; nothing else encodes edges.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class SessionKind(StrEnum):
    PROJECT = "project"
    RUN = "run"


class SessionState(StrEnum):
    PENDING = "pending"
    VALIDATING = "validating"
    RENDERING = "rendering"
    PLUGIN_PASS = "plugin_pass"
    INPUT_REQUIRED = "input_required"
    CACHE_WRITE = "cache_write"
    POST_VALIDATE = "post_validate"
    SYNC_QUEUED = "sync_queued"
    DONE = "done"
    FAILED = "failed"
    ABORTED = "aborted"


class Phase(StrEnum):
    """Wire names of the phase a session enters (DESIGN §2)."""

    VALIDATING_INPUTS = "validating_inputs"
    RENDERING_TEMPLATE = "rendering_template"
    RUNNING_PLUGINS = "running_plugins"
    INPUT_REQUIRED = "input_required"
    WRITING_CACHE = "writing_cache"
    VALIDATING_POST_CREATION = "validating_post_creation"
    QUEUEING_NAS_SYNC = "queueing_nas_sync"
    DONE = "done"


class NextAction(StrEnum):
    NONE = "none"
    AWAITING_INPUT = "awaiting_input"


TERMINAL_STATES: frozenset[SessionState] = frozenset(
    {SessionState.DONE, SessionState.FAILED, SessionState.ABORTED}
)
LIVE_STATES: frozenset[SessionState] = frozenset(SessionState) - TERMINAL_STATES

_FORWARD: dict[SessionState, frozenset[SessionState]] = {
    SessionState.PENDING: frozenset({SessionState.VALIDATING}),
    SessionState.VALIDATING: frozenset({SessionState.RENDERING}),
    SessionState.RENDERING: frozenset({SessionState.PLUGIN_PASS}),
    SessionState.PLUGIN_PASS: frozenset({SessionState.INPUT_REQUIRED, SessionState.CACHE_WRITE}),
    SessionState.INPUT_REQUIRED: frozenset({SessionState.PLUGIN_PASS}),
    SessionState.CACHE_WRITE: frozenset({SessionState.POST_VALIDATE}),
    SessionState.POST_VALIDATE: frozenset({SessionState.SYNC_QUEUED}),
    SessionState.SYNC_QUEUED: frozenset({SessionState.DONE}),
}

_ALWAYS_REACHABLE = frozenset({SessionState.FAILED, SessionState.ABORTED})

_EDGES: dict[SessionState, frozenset[SessionState]] = {
    state: (_FORWARD.get(state, frozenset()) | _ALWAYS_REACHABLE)
    if state in LIVE_STATES
    else frozenset()
    for state in SessionState
}

#: Legal edges. Terminal states map to the empty set: they are sinks.
TRANSITIONS: Mapping[SessionState, frozenset[SessionState]] = MappingProxyType(_EDGES)

PHASE_OF_STATE: Mapping[SessionState, Phase] = MappingProxyType(
    {
        SessionState.VALIDATING: Phase.VALIDATING_INPUTS,
        SessionState.RENDERING: Phase.RENDERING_TEMPLATE,
        SessionState.PLUGIN_PASS: Phase.RUNNING_PLUGINS,
        SessionState.INPUT_REQUIRED: Phase.INPUT_REQUIRED,
        SessionState.CACHE_WRITE: Phase.WRITING_CACHE,
        SessionState.POST_VALIDATE: Phase.VALIDATING_POST_CREATION,
        SessionState.SYNC_QUEUED: Phase.QUEUEING_NAS_SYNC,
        SessionState.DONE: Phase.DONE,
    }
)


class IllegalTransition(ValueError):
    """Raised when a transition is not an edge of the state machine.

    Either end may be something that is no state at all (a plain wrong string):
    that is an illegal transition too, a ``ValueError`` as the seed's store raises.
    The message keeps the seed's wording, "illegal state transition".
    """

    def __init__(self, current: SessionState | object, new: SessionState | object) -> None:
        super().__init__(f"illegal state transition {_name(current)} -> {_name(new)}")
        self.current = current
        self.new = new


def _name(state: object) -> str:
    return str(state.value) if isinstance(state, SessionState) else repr(state)


def state_to_phase(state: SessionState) -> Phase | None:
    """The phase emitted on entering ``state``; None for PENDING, FAILED, ABORTED."""
    return PHASE_OF_STATE.get(state)


def is_legal(current: SessionState, new: SessionState) -> bool:
    """True when ``current -> new`` is an edge; False for anything that is no state."""
    try:
        return new in _EDGES[current]
    except (KeyError, TypeError):  # not a state, or not even hashable
        return False


def assert_transition(current: SessionState, new: SessionState) -> None:
    """Raise IllegalTransition (a ValueError) unless ``current -> new`` is an edge."""
    if not is_legal(current, new):
        raise IllegalTransition(current, new)
