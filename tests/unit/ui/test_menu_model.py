"""The menu model is a pure function of the store's sessions and the app flags (no Qt here)."""

from __future__ import annotations

from tests.support.clock import FakeClock
from tests.support.sessions import aborted, done, failed, running, waiting
from tray_app.creation.wording import session_title
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import SessionStore
from tray_app.ui.menu_model import (
    Action,
    Command,
    Entry,
    IconState,
    MenuFlags,
    MenuModel,
    build_menu,
)


def model_of(store: SessionStore, clock: FakeClock, **flags: object) -> MenuModel:
    return build_menu(store.sessions(), clock(), MenuFlags(**flags))  # type: ignore[arg-type]


def section(model: MenuModel, title: str) -> tuple[Entry, ...]:
    for sec in model.sections:
        if sec.title == title:
            return sec.entries
    raise AssertionError(f"no section {title!r} in {[s.title for s in model.sections]}")


def labels(model: MenuModel) -> list[str]:
    return [e.label for sec in model.sections for e in sec.entries]


def test_empty_store_is_idle_with_the_app_entries(store: SessionStore, clock: FakeClock) -> None:
    model = model_of(store, clock)
    assert model.icon_state is IconState.IDLE
    assert model.tooltip == "ExLab Tray: idle"
    assert model.header == "No sessions running"
    assert [s.title for s in model.sections] == [None, None, None]
    assert labels(model) == [
        "No sessions running",
        "New project…",
        "New run…",
        "Sessions…",
        "Open data folder",
        "Settings",
        "Reload settings",
        "Pause notifications",
        "Save a report for support…",
        "Quit",
    ]
    # Without autostart support the item is hidden.
    assert "Start at login" not in labels(model)


def test_start_at_login_is_checkable_and_reflects_the_state(
    store: SessionStore, clock: FakeClock
) -> None:
    on = model_of(store, clock, autostart_enabled=True)
    entry = next(e for s in on.sections for e in s.entries if e.label == "Start at login")
    assert entry.checkable and entry.checked
    assert entry.action == Action(Command.TOGGLE_AUTOSTART)
    off = model_of(store, clock, autostart_enabled=False)
    entry = next(e for s in off.sections for e in s.entries if e.label == "Start at login")
    assert entry.checkable and not entry.checked


def test_running_session_shows_phase_progress_and_a_submenu(
    store: SessionStore, clock: FakeClock
) -> None:
    session = running(store, "Run calibration", current=2, total=4, plugin="plate_map")
    model = model_of(store, clock)
    (entry,) = section(model, "In progress")
    assert entry.label == "Run calibration: Running plugins (2 of 4: plate_map)"
    assert [(c.label, c.action) for c in entry.children] == [
        ("Details…", Action(Command.SHOW_DETAILS, session.session_id)),
        ("Cancel…", Action(Command.CANCEL, session.session_id)),
    ]
    assert model.icon_state is IconState.WORKING
    assert model.tooltip == "ExLab Tray: 1 running"
    assert model.header == "1 running"


def test_waiting_session_says_who_asks_and_for_how_long(
    store: SessionStore, clock: FakeClock
) -> None:
    running(store)
    session = waiting(store, "Run screen", plugin="plate_map")
    clock.advance(minutes=4, seconds=10)
    model = model_of(store, clock)
    (entry,) = section(model, "Needs input")
    assert entry.label == "Run screen: plate_map asks (4 min)"
    assert entry.action == Action(Command.OPEN_PROMPT, session.session_id)
    assert entry.tooltip == "How many samples?"
    assert model.icon_state is IconState.NEEDS_INPUT
    assert model.tooltip == "ExLab Tray: 1 needs input, 1 running"


def test_waiting_sessions_are_listed_oldest_first(store: SessionStore, clock: FakeClock) -> None:
    first = waiting(store, "first")
    clock.advance(minutes=1)
    second = waiting(store, "second")
    entries = section(model_of(store, clock), "Needs input")
    assert [e.action.session_id for e in entries if e.action] == [
        first.session_id,
        second.session_id,
    ]


def test_recent_done_offers_open_folder(store: SessionStore, clock: FakeClock) -> None:
    session = done(store, "Project Alpha")
    (entry,) = section(model_of(store, clock), "Recent")
    assert entry.label == "✓ Project Alpha: done"
    assert entry.children[0] == Entry(
        "Open folder", Action(Command.OPEN_FOLDER, session.session_id), mnemonic_at=0
    )


def test_recent_failure_shows_the_error_and_copy_details(
    store: SessionStore, clock: FakeClock
) -> None:
    session = failed(store, "Run broken", "plate_map crashed: ZeroDivisionError")
    unseen = frozenset({session.session_id})
    model = model_of(store, clock, unseen_failures=unseen)
    (entry,) = section(model, "Recent")
    assert entry.label == "✗ ● Run broken: failed"
    assert entry.tooltip == "plate_map crashed: ZeroDivisionError"
    assert entry.children[0].label == "plate_map crashed: ZeroDivisionError"
    assert not entry.children[0].enabled
    copy = Entry("Copy details", Action(Command.COPY_DETAILS, session.session_id), mnemonic_at=3)
    assert copy in entry.children
    assert model.icon_state is IconState.FAILED_UNSEEN
    assert model.tooltip == "ExLab Tray: 1 failed"
    # Once seen, the failure no longer drives the icon.
    assert model_of(store, clock).icon_state is IconState.IDLE


def test_needs_input_outranks_an_unseen_failure_in_icon_and_header(
    store: SessionStore, clock: FakeClock
) -> None:
    waiting(store)
    broken = failed(store)
    running(store)
    model = model_of(store, clock, unseen_failures=frozenset({broken.session_id}))
    # The session that blocks work is the one the icon shows; the failure is still listed.
    assert model.icon_state is IconState.NEEDS_INPUT
    assert model.header == "1 needs input, 1 failed, 1 running"
    assert model.tooltip == "ExLab Tray: 1 needs input, 1 failed, 1 running"
    assert [s.title for s in model.sections][:2] == [None, "Needs input"]


def test_aborted_sessions_say_why(store: SessionStore, clock: FakeClock) -> None:
    aborted(store, "Run gc", code="session_abandoned")
    aborted(store, "Run user", code="cancelled")
    entries = section(model_of(store, clock), "Recent")
    assert [e.label for e in entries] == [
        "⊘ Run user: cancelled",
        "⊘ Run gc: abandoned (no answer in time)",
    ]


def test_an_interrupted_session_offers_start_again_and_discard_until_done(
    store: SessionStore, clock: FakeClock
) -> None:
    session = running(store, "Run cut short")
    sid = session.session_id
    outcome = {"code": "interrupted", "path": "/data/TECAN/Alpha/Runs/Run_1"}
    store.transition(sid, SessionState.ABORTED, outcome=outcome)
    aborted(store, "Run user", code="cancelled")  # a plain cancel offers neither

    def actions(title_part: str) -> list[Action | None]:
        entry = next(e for e in section(model_of(store, clock), "Recent") if title_part in e.label)
        return [child.action for child in entry.children]

    assert Action(Command.START_AGAIN, sid) in actions("cut short")
    assert Action(Command.DISCARD_FOLDER, sid) in actions("cut short")
    assert not {a.command for a in actions("Run user") if a} & {
        Command.START_AGAIN,
        Command.DISCARD_FOLDER,
    }
    store.close(sid, {**outcome, "discarded": True, "started_again": "s2"})
    assert not {a.command for a in actions("cut short") if a} & {
        Command.START_AGAIN,
        Command.DISCARD_FOLDER,
    }


def test_long_sections_end_in_n_more(store: SessionStore, clock: FakeClock) -> None:
    for i in range(8):
        waiting(store, f"w{i}")
    for i in range(3):
        running(store, f"r{i}")
    model = model_of(store, clock)
    entries = section(model, "Needs input")
    assert len(entries) == 6
    assert entries[-1] == Entry("3 more…", Action(Command.SHOW_SESSIONS))
    assert len(section(model, "In progress")) == 3
    assert model.tooltip == "ExLab Tray: 8 need input, 3 running"


def test_quitting_is_shown_and_new_sessions_are_disabled(
    store: SessionStore, clock: FakeClock
) -> None:
    running(store)
    running(store)
    model = model_of(store, clock, quitting=True, quitting_waiting_for=2)
    assert model.header == "Quitting: waiting for 2 sessions"
    assert model.tooltip == "ExLab Tray: Quitting: waiting for 2 sessions"
    entries = {e.label: e for s in model.sections for e in s.entries}
    assert not entries["New project…"].enabled
    assert not entries["New run…"].enabled
    assert not entries["Quit"].enabled


def test_settings_problems_are_listed_under_the_header(
    store: SessionStore, clock: FakeClock
) -> None:
    problems = ("settings.toml:3: gc_interval_s: expected a number",)
    model = model_of(store, clock, settings_problems=problems)
    header = model.sections[0].entries
    assert header[1].label == "⚠ Settings file has 1 problem…"
    assert header[1].action == Action(Command.SHOW_SETTINGS_PROBLEMS)
    assert header[1].tooltip == problems[0]


def test_an_untitled_session_is_named_as_everywhere_else(
    store: SessionStore, clock: FakeClock
) -> None:
    session = store.open("run", {"project_name": "Beta", "label": "r1"})
    store.transition(session.session_id, session.state.VALIDATING)
    (entry,) = section(model_of(store, clock), "In progress")
    assert entry.label == f"{session_title(session)}: Checking the request"
    assert session_title(session) == f"Run {session.session_id[-6:]}"


def test_long_titles_are_elided(store: SessionStore, clock: FakeClock) -> None:
    running(store, "Run " + "x" * 200)
    (entry,) = section(model_of(store, clock), "In progress")
    assert entry.label == "Run " + "x" * 55 + "…: Running plugins"


def test_the_model_is_value_equal_for_equal_state(store: SessionStore, clock: FakeClock) -> None:
    """The Qt layer skips redrawing when nothing visible changed."""
    waiting(store)
    assert model_of(store, clock) == model_of(store, clock)
    before = model_of(store, clock)
    clock.advance(minutes=2)
    assert model_of(store, clock) != before
