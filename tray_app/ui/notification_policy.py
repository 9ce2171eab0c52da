"""Which notices go out now, which wait for a pause to end, and which are switched off.

Pure and Qt-free, so the rules are tested with a plain clock: each kind can be switched off
in settings; a pause (one hour, or until tomorrow morning) holds the notices that can wait
(needs input, abandoned) while failures and sync problems still go out; when the pause ends
the held ones come back to be summed up in one notice. Time is always passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Protocol

__all__ = [
    "TOMORROW_MORNING",
    "URGENT_KINDS",
    "EventKind",
    "NotificationPolicy",
    "PauseChoice",
    "SessionEvent",
    "Switches",
    "Verdict",
    "pause_end",
]


class EventKind(StrEnum):
    """What a notice is about; each kind has its own on/off switch in settings."""

    NEEDS_INPUT = "needs_input"
    FAILED = "failed"
    ABANDONED = "abandoned"
    #: A NAS sync job that waits or failed (sent by the sync queue's observer).
    SYNC_PROBLEM = "sync_problem"


#: Kinds that still notify while notifications are paused: something broke.
URGENT_KINDS = frozenset({EventKind.FAILED, EventKind.SYNC_PROBLEM})


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """One thing worth telling the operator. ``session_id`` names what acting on it opens."""

    kind: EventKind
    session_id: str
    title: str
    detail: str


class Switches(Protocol):
    """The per-kind switches (``config.NotificationSettings`` is one)."""

    @property
    def needs_input(self) -> bool: ...
    @property
    def failed(self) -> bool: ...
    @property
    def abandoned(self) -> bool: ...
    @property
    def sync_problems(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class AllOn:
    """Every kind on: the default before settings are read."""

    needs_input: bool = True
    failed: bool = True
    abandoned: bool = True
    sync_problems: bool = True


def _allowed(switches: Switches, kind: EventKind) -> bool:
    if kind is EventKind.NEEDS_INPUT:
        return switches.needs_input
    if kind is EventKind.FAILED:
        return switches.failed
    if kind is EventKind.ABANDONED:
        return switches.abandoned
    return switches.sync_problems


class Verdict(StrEnum):
    SEND = "send"
    HOLD = "hold"
    DROP = "drop"


class PauseChoice(StrEnum):
    HOUR = "hour"
    TOMORROW = "tomorrow"


#: "Until tomorrow" ends at this local time on the next calendar day.
TOMORROW_MORNING = time(8, 0)


def pause_end(choice: PauseChoice, now: datetime) -> datetime:
    """When a pause chosen at ``now`` (an aware datetime) ends, in ``now``'s time zone.

    "Until tomorrow" means tomorrow at 08:00 local time: a pause chosen in the evening
    keeps the night quiet, one chosen during a night shift lasts into the next morning.
    """
    if choice is PauseChoice.HOUR:
        return now + timedelta(hours=1)
    local = now.astimezone()
    tomorrow = local.date() + timedelta(days=1)
    # A naive local time made aware by the system's rules (right across a DST change).
    end = datetime.combine(tomorrow, TOMORROW_MORNING).astimezone()
    return end.astimezone(now.tzinfo)


class NotificationPolicy:
    """The switches, the pause and the notices held during it."""

    def __init__(self, switches: Switches | None = None) -> None:
        self.switches: Switches = switches if switches is not None else AllOn()
        self._paused_until: datetime | None = None
        self._held: list[SessionEvent] = []

    @property
    def paused_until(self) -> datetime | None:
        """The end of the current pause (it may have passed; see :meth:`expire`)."""
        return self._paused_until

    @property
    def held(self) -> tuple[SessionEvent, ...]:
        return tuple(self._held)

    def is_paused(self, now: datetime) -> bool:
        return self._paused_until is not None and now < self._paused_until

    def pause(self, until: datetime) -> None:
        """Pause until ``until``; a new pause replaces the old end and keeps what is held."""
        self._paused_until = until

    def resume(self) -> list[SessionEvent]:
        """End the pause now; the notices it held, oldest first."""
        held, self._held = self._held, []
        self._paused_until = None
        return held

    def expire(self, now: datetime) -> list[SessionEvent] | None:
        """End the pause if its time has come: the held notices, or None while it goes on
        (and when there is no pause at all)."""
        if self._paused_until is None or now < self._paused_until:
            return None
        return self.resume()

    def decide(self, event: SessionEvent, now: datetime) -> Verdict:
        """Send, hold (kept for the summary) or drop ``event`` at ``now``."""
        if not _allowed(self.switches, event.kind):
            return Verdict.DROP
        if self.is_paused(now) and event.kind not in URGENT_KINDS:
            self._held.append(event)
            return Verdict.HOLD
        return Verdict.SEND
