"""Session engine: the state machine, the store, and event fan-out. No Qt here."""

from tray_app.sessions.session import JsonDict, Session, iso_z, to_handle, utc_now
from tray_app.sessions.states import (
    LIVE_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    IllegalTransition,
    NextAction,
    Phase,
    SessionKind,
    SessionState,
    assert_transition,
    is_legal,
    state_to_phase,
)
from tray_app.sessions.store import (
    ABANDONED_CODE,
    Change,
    GcReport,
    Observer,
    Retention,
    SessionStore,
    UnknownSession,
)
from tray_app.sessions.subscription import Subscription

__all__ = [
    "ABANDONED_CODE",
    "LIVE_STATES",
    "TERMINAL_STATES",
    "TRANSITIONS",
    "Change",
    "GcReport",
    "IllegalTransition",
    "JsonDict",
    "NextAction",
    "Observer",
    "Phase",
    "Retention",
    "Session",
    "SessionKind",
    "SessionState",
    "SessionStore",
    "Subscription",
    "UnknownSession",
    "assert_transition",
    "is_legal",
    "iso_z",
    "state_to_phase",
    "to_handle",
    "utc_now",
]
