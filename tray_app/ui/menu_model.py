"""What the tray shows, as plain data: a pure function from sessions and flags to a menu model.

No Qt here, so the menu's content is unit-tested without a display; ``tray.py`` only draws it.
Every word about a session comes from ``creation/wording.py``, as in every other view.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from tray_app.creation.recovery import offers_discard, offers_start_again
from tray_app.creation.sync import SyncSummary
from tray_app.creation.wording import (
    age_words,
    doing_words,
    elide,
    error_words,
    reason_words,
    session_title,
)
from tray_app.i18n import _, ngettext
from tray_app.sessions.session import Session
from tray_app.sessions.states import SessionState
from tray_app.ui.keyboard import parse_mnemonic

#: Entries shown per section before an "N more…" entry opens the sessions window.
SECTION_LIMIT = 5
#: Longest session title in a menu line; menus wider than the screen help nobody.
TITLE_LIMIT = 60


class IconState(StrEnum):
    """The tray icon's state, most urgent last in :data:`URGENCY`.

    A session waiting for input blocks work, so it outranks a failure: the failure is
    already over, and the menu and notices still show it.
    """

    IDLE = "idle"
    WORKING = "working"
    #: Folders that cannot reach the NAS (waiting on a failure, or failed for good).
    SYNC_PROBLEM = "sync-problem"
    NEEDS_INPUT = "needs-input"
    FAILED_UNSEEN = "failed-unseen"


URGENCY: tuple[IconState, ...] = (
    IconState.IDLE,
    IconState.WORKING,
    IconState.SYNC_PROBLEM,
    IconState.FAILED_UNSEEN,
    IconState.NEEDS_INPUT,
)


class Command(StrEnum):
    """What an entry does when chosen; the Qt layer maps each to a handler."""

    OPEN_PROMPT = "open_prompt"
    SHOW_DETAILS = "show_details"
    CANCEL = "cancel"
    OPEN_FOLDER = "open_folder"
    COPY_DETAILS = "copy_details"
    NEW_PROJECT = "new_project"
    NEW_RUN = "new_run"
    SHOW_SESSIONS = "show_sessions"
    OPEN_DATA_FOLDER = "open_data_folder"
    OPEN_SETTINGS = "open_settings"
    SHOW_SETTINGS_PROBLEMS = "show_settings_problems"
    RELOAD_SETTINGS = "reload_settings"
    TOGGLE_AUTOSTART = "toggle_autostart"
    PAUSE_NOTIFICATIONS_HOUR = "pause_notifications_hour"
    PAUSE_NOTIFICATIONS_TOMORROW = "pause_notifications_tomorrow"
    RESUME_NOTIFICATIONS = "resume_notifications"
    SAVE_REPORT = "save_report"
    RETRY_SYNC = "retry_sync"
    REQUEUE_SYNC = "requeue_sync"
    DISCARD_FOLDER = "discard_folder"
    START_AGAIN = "start_again"
    QUIT = "quit"


@dataclass(frozen=True, slots=True)
class Action:
    command: Command
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One menu line. With ``children`` it is a submenu; without ``action`` it is text only."""

    label: str
    action: Action | None = None
    enabled: bool = True
    checkable: bool = False
    checked: bool = False
    tooltip: str = ""
    children: tuple[Entry, ...] = ()
    #: Where in ``label`` its keyboard mnemonic is (where the translation put the "&"; the
    #: same letter may come earlier in the label); None without one.
    mnemonic_at: int | None = None

    @property
    def mnemonic(self) -> str:
        """The mnemonic letter as written ("" without one)."""
        return "" if self.mnemonic_at is None else self.label[self.mnemonic_at]


@dataclass(frozen=True, slots=True)
class Section:
    """Entries under an optional title; sections are drawn with separators between them."""

    title: str | None
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class MenuFlags:
    """App state the menu shows besides the sessions."""

    quitting: bool = False
    quitting_waiting_for: int = 0
    #: None hides "Start at login" (no autostart support on this system).
    autostart_enabled: bool | None = None
    settings_problems: tuple[str, ...] = ()
    #: Failed sessions the operator has not looked at yet.
    unseen_failures: frozenset[str] = field(default_factory=frozenset)
    #: End of a notification pause (aware datetime); None while notices are on.
    notifications_paused_until: datetime | None = None
    #: The NAS sync queue at a glance; None when no NAS is set.
    sync: SyncSummary | None = None


@dataclass(frozen=True, slots=True)
class Counts:
    running: int = 0
    waiting: int = 0
    failed_unseen: int = 0


@dataclass(frozen=True, slots=True)
class MenuModel:
    header: str
    tooltip: str
    icon_state: IconState
    counts: Counts
    sections: tuple[Section, ...]


def build_menu(
    sessions: Iterable[Session],
    now: datetime,
    flags: MenuFlags | None = None,
    *,
    limit: int = SECTION_LIMIT,
) -> MenuModel:
    """The whole menu for ``sessions`` (newest first) at time ``now``."""
    flags = flags or MenuFlags()
    waiting: list[Session] = []
    running: list[Session] = []
    finished: list[Session] = []
    for session in sessions:
        if session.state is SessionState.INPUT_REQUIRED:
            waiting.append(session)
        elif session.is_terminal():
            finished.append(session)
        else:
            running.append(session)
    # Oldest prompt first: it has waited longest.
    waiting.reverse()
    unseen = sum(
        1
        for s in finished
        if s.state is SessionState.FAILED and s.session_id in flags.unseen_failures
    )
    counts = Counts(running=len(running), waiting=len(waiting), failed_unseen=unseen)

    sections: list[Section] = [Section(None, _header_entries(counts, flags))]
    # Entries are built only for the lines shown: Recent may hold hundreds of sessions.
    if waiting:
        entries = [_waiting_entry(s, now) for s in waiting[: limit + 1]]
        sections.append(Section(_("Needs input"), _limited(entries, limit, len(waiting))))
    if running:
        entries = [_running_entry(s) for s in running[: limit + 1]]
        sections.append(Section(_("In progress"), _limited(entries, limit, len(running))))
    if finished:
        entries = [_finished_entry(s, flags.unseen_failures) for s in finished[: limit + 1]]
        sections.append(Section(_("Recent"), _limited(entries, limit, len(finished))))
    sections.append(Section(None, _create_entries(flags)))
    sections.append(Section(None, _app_entries(flags, now)))

    return MenuModel(
        header=header_text(counts, flags),
        tooltip=tooltip_text(counts, flags),
        icon_state=icon_state(counts, bool(flags.sync and flags.sync.in_trouble)),
        counts=counts,
        sections=tuple(sections),
    )


def icon_state(counts: Counts, sync_trouble: bool = False) -> IconState:
    if counts.waiting:
        return IconState.NEEDS_INPUT
    if counts.failed_unseen:
        return IconState.FAILED_UNSEEN
    if sync_trouble:
        return IconState.SYNC_PROBLEM
    if counts.running:
        return IconState.WORKING
    return IconState.IDLE


def header_text(counts: Counts, flags: MenuFlags) -> str:
    if flags.quitting:
        return quitting_text(flags.quitting_waiting_for)
    parts = _count_parts(counts)
    if not parts:
        return _("No sessions running")
    text = _(", ").join(parts)
    return text[:1].upper() + text[1:]


def tooltip_text(counts: Counts, flags: MenuFlags) -> str:
    if flags.quitting:
        return _("ExLab Tray: {status}").format(status=quitting_text(flags.quitting_waiting_for))
    parts = _count_parts(counts)
    return _("ExLab Tray: {status}").format(status=_(", ").join(parts) if parts else _("idle"))


def quitting_text(waiting_for: int) -> str:
    if waiting_for <= 0:
        return _("Quitting…")
    return ngettext(
        "Quitting: waiting for {n} session", "Quitting: waiting for {n} sessions", waiting_for
    ).format(n=waiting_for)


def describe(session: Session) -> str:
    """The session's title (the one every view shows), cut to fit a menu line."""
    return elide(session_title(session), TITLE_LIMIT)


# ---- sections -------------------------------------------------------------------------------


def _header_entries(counts: Counts, flags: MenuFlags) -> tuple[Entry, ...]:
    entries = [Entry(header_text(counts, flags), enabled=False)]
    if flags.settings_problems:
        n = len(flags.settings_problems)
        entries.append(
            Entry(
                ngettext(
                    "⚠ Settings file has {n} problem…", "⚠ Settings file has {n} problems…", n
                ).format(n=n),
                Action(Command.SHOW_SETTINGS_PROBLEMS),
                tooltip="\n".join(flags.settings_problems),
            )
        )
    sync = flags.sync
    if sync is not None and (sync.in_trouble or sync.pending):
        entries.append(_sync_entry(sync))
    return tuple(entries)


def _sync_entry(sync: SyncSummary) -> Entry:
    """The sync line: "3 folders waiting for the NAS: not reachable since 10:02"."""
    if not sync.in_trouble:
        return Entry(sync.headline, enabled=False)
    children = [Entry(sync.reason, enabled=False)] if sync.reason else []
    children.append(_entry(_("&Retry now"), Action(Command.RETRY_SYNC), enabled=True))
    return Entry(f"⚠ {sync.headline}", tooltip=sync.reason or "", children=tuple(children))


def _waiting_entry(session: Session, now: datetime) -> Entry:
    prompt = session.pending_input or {}
    plugin = prompt.get("plugin") or _("a plugin")
    since = session.input_since or session.created_at
    waited = age_words((now - since).total_seconds())
    label = _("{title}: {plugin} asks ({waited})").format(
        title=describe(session), plugin=plugin, waited=waited
    )
    reason = str(prompt.get("reason") or "")
    return Entry(label, Action(Command.OPEN_PROMPT, session.session_id), tooltip=reason)


def _running_entry(session: Session) -> Entry:
    words = doing_words(session)
    sid = session.session_id
    children = (
        _entry(_("&Details…"), Action(Command.SHOW_DETAILS, sid)),
        _entry(_("&Cancel…"), Action(Command.CANCEL, sid)),
    )
    return Entry(
        _("{title}: {doing}").format(title=describe(session), doing=words), children=children
    )


def _finished_entry(session: Session, unseen: frozenset[str]) -> Entry:
    sid = session.session_id
    name = describe(session)
    details = _entry(_("&Details…"), Action(Command.SHOW_DETAILS, sid))
    if session.state is SessionState.DONE:
        children: tuple[Entry, ...] = (
            _entry(_("&Open folder"), Action(Command.OPEN_FOLDER, sid)),
            details,
        )
        if (session.result or {}).get("sync_status") == "blocked_by_validation":
            again = Entry(_("Queue for NAS sync again"), Action(Command.REQUEUE_SYNC, sid))
            tip = _("Checked again first: fix the names the check found, then choose this.")
            return Entry(
                _("✓ {title}: done, sync blocked").format(title=name),
                tooltip=tip,
                children=(*children, again),
            )
        return Entry(_("✓ {title}: done").format(title=name), children=children)
    if session.state is SessionState.FAILED:
        message = error_words(session)
        failed_children = [
            Entry(message, enabled=False),
            _entry(_("Cop&y details"), Action(Command.COPY_DETAILS, sid)),
            details,
        ]
        if session.destination:
            failed_children.insert(2, _entry(_("&Open folder"), Action(Command.OPEN_FOLDER, sid)))
        mark = "● " if sid in unseen else ""
        return Entry(
            _("✗ {mark}{title}: failed").format(mark=mark, title=name),
            tooltip=message,
            children=tuple(failed_children),
        )
    reason = reason_words((session.result or {}).get("code"))
    aborted_children = [
        Entry(_("Cancelled: {reason}").format(reason=reason), enabled=False),
        details,
    ]
    if session.destination:
        aborted_children.insert(1, _entry(_("&Open folder"), Action(Command.OPEN_FOLDER, sid)))
    if offers_start_again(session):
        aborted_children.append(_entry(_("Start a&gain"), Action(Command.START_AGAIN, sid)))
    if offers_discard(session):
        aborted_children.append(_entry(_("Disca&rd folder…"), Action(Command.DISCARD_FOLDER, sid)))
    return Entry(
        _("⊘ {title}: {reason}").format(title=name, reason=reason),
        children=tuple(aborted_children),
    )


def _create_entries(flags: MenuFlags) -> tuple[Entry, ...]:
    enabled = not flags.quitting
    return (
        _entry(_("&New project…"), Action(Command.NEW_PROJECT), enabled=enabled),
        _entry(_("New r&un…"), Action(Command.NEW_RUN), enabled=enabled),
        _entry(_("S&essions…"), Action(Command.SHOW_SESSIONS)),
    )


def pause_words(until: datetime, now: datetime) -> str:
    """ "14:30" today, "tomorrow 08:00", else the date: when a pause ends, in local time."""
    end, today = until.astimezone(), now.astimezone().date()
    if end.date() == today:
        # The formats are the catalog's, so each language writes times its own way.
        return end.strftime(_("%H:%M"))
    if (end.date() - today).days == 1:
        return end.strftime(_("tomorrow %H:%M"))
    return end.strftime(_("%Y-%m-%d %H:%M"))


def _notification_entry(flags: MenuFlags, now: datetime) -> Entry:
    until = flags.notifications_paused_until
    if until is not None and until > now:
        return _entry(
            _("Resu&me notifications (paused until {time})").format(time=pause_words(until, now)),
            Action(Command.RESUME_NOTIFICATIONS),
            tooltip=_("Failures and sync problems are still shown while paused."),
        )
    return _entry(
        _("&Pause notifications"),
        None,
        tooltip=_("Failures and sync problems are still shown; questions wait for the end."),
        children=(
            _entry(_("For &1 hour"), Action(Command.PAUSE_NOTIFICATIONS_HOUR)),
            _entry(_("Un&til tomorrow morning"), Action(Command.PAUSE_NOTIFICATIONS_TOMORROW)),
        ),
    )


def _app_entries(flags: MenuFlags, now: datetime) -> tuple[Entry, ...]:
    entries = [
        _entry(_("Open &data folder"), Action(Command.OPEN_DATA_FOLDER)),
        _entry(_("&Settings"), Action(Command.OPEN_SETTINGS)),
        _entry(_("&Reload settings"), Action(Command.RELOAD_SETTINGS)),
        _notification_entry(flags, now),
        _entry(_("Sa&ve a report for support…"), Action(Command.SAVE_REPORT)),
    ]
    if flags.autostart_enabled is not None:
        entries.append(
            _entry(
                _("Start at &login"),
                Action(Command.TOGGLE_AUTOSTART),
                checkable=True,
                checked=flags.autostart_enabled,
            )
        )
    entries.append(_entry(_("&Quit"), Action(Command.QUIT), enabled=not flags.quitting))
    return tuple(entries)


def _entry(words: str, action: Action | None, **options: Any) -> Entry:
    """An entry from a translated label with its mnemonic marked by ``&`` ("&Quit",
    "&Beenden"), so each language picks its own letter."""
    marked = parse_mnemonic(words)
    return Entry(marked.text, action, mnemonic_at=marked.at, **options)


def _limited(entries: Sequence[Entry], limit: int, total: int) -> tuple[Entry, ...]:
    if total <= limit:
        return tuple(entries)
    more = total - limit
    return (*entries[:limit], Entry(_("{n} more…").format(n=more), Action(Command.SHOW_SESSIONS)))


def _count_parts(counts: Counts) -> list[str]:
    """Most urgent first: what waits for the operator, then what went wrong, then the rest."""
    parts = []
    if counts.waiting:
        n = counts.waiting
        parts.append(ngettext("{n} needs input", "{n} need input", n).format(n=n))
    if counts.failed_unseen:
        n = counts.failed_unseen
        parts.append(ngettext("{n} failed", "{n} failed", n).format(n=n))
    if counts.running:
        n = counts.running
        parts.append(ngettext("{n} running", "{n} running", n).format(n=n))
    return parts
