"""What the store tells its observers, the error for an unknown session, and the values
of its GC and retention: the vocabulary shared by the store and whoever watches it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from tray_app.sessions.session import Session

__all__ = [
    "ABANDONED_CODE",
    "Change",
    "Clock",
    "GcReport",
    "Observer",
    "Retention",
    "UnknownSession",
]

#: The outcome code of a session the GC aborted because nobody answered its prompt.
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
