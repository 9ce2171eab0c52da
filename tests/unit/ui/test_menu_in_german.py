"""The tray's menu model and its notices in German (the shipped catalog installed): every
text shown is built from the catalog's translations, no common English word is left, and
plural forms follow the count. Also French plurals, whose rule differs at 0."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.support.catalogs import english_words, shown_pattern
from tests.support.clock import FakeClock
from tests.support.sessions import aborted, done, failed, running, waiting
from tray_app import i18n
from tray_app.creation.wording import age_words
from tray_app.sessions.store import ABANDONED_CODE, SessionStore
from tray_app.ui.menu_model import Counts, Entry, MenuFlags, MenuModel, build_menu, header_text
from tray_app.ui.notifications import EventKind, SessionEvent, notice_for, paused_summary

#: What the sessions say of themselves (titles, a plugin's name, its question, an error):
#: data, not the app's words, taken out before looking for English.
DATA = ("Kalibrierung", "Probenlauf", "Projekt Alpha", "Defekt", "Gestoppt", "plate_map")
QUESTION = "How many samples?"  # the test plugin's own question (tests/support/sessions.py)


@pytest.fixture
def german() -> Iterator[None]:
    assert i18n.install("de") == "de"
    yield
    i18n.install("en")


def texts(entries: tuple[Entry, ...]) -> Iterator[str]:
    for entry in entries:
        yield entry.label
        if entry.tooltip:
            yield entry.tooltip
        yield from texts(entry.children)


def shown(model: MenuModel) -> list[str]:
    out = [model.header, model.tooltip]
    for section in model.sections:
        if section.title:
            out.append(section.title)
        out.extend(texts(section.entries))
    return out


def without_data(text: str) -> str:
    for data in (*DATA, QUESTION):
        text = text.replace(data, "")
    return text


def assert_german(strings: list[str]) -> None:
    pattern = shown_pattern("de")
    for text in strings:
        rest = without_data(text)
        assert not english_words(rest), f"English in {text!r}: {english_words(rest)}"
        if rest.strip():
            assert pattern.fullmatch(rest), f"not built from the catalog: {text!r}"


def test_the_whole_menu_reads_in_german(
    german: None, store: SessionStore, clock: FakeClock
) -> None:
    running(store, "Kalibrierung", current=2, total=4, plugin="plate_map")
    waiting(store, "Probenlauf")
    done(store, "Projekt Alpha")
    broken = failed(store, "Defekt", "Defekt")
    aborted(store, "Gestoppt", code=ABANDONED_CODE)
    aborted(store, "Gestoppt")
    clock.advance(minutes=4)
    flags = [
        MenuFlags(autostart_enabled=True, unseen_failures=frozenset({broken.session_id})),
        MenuFlags(quitting=True, quitting_waiting_for=2, settings_problems=("Defekt",)),
        MenuFlags(notifications_paused_until=clock() + timedelta(hours=30)),
    ]
    strings = [s for f in flags for s in shown(build_menu(store.sessions(), clock(), f))]
    assert "Neue Messung…" in strings and "Beenden" in strings
    assert "Zuletzt" in strings and "Wartet auf Eingabe" in strings
    assert_german(strings)


def test_a_german_mnemonic_is_a_letter_of_the_german_label(
    german: None, store: SessionStore, clock: FakeClock
) -> None:
    model = build_menu(store.sessions(), clock(), MenuFlags(autostart_enabled=False))
    entries = [e for s in model.sections for e in s.entries if e.mnemonic]
    assert {e.label: e.mnemonic for e in entries}["Beenden"] == "B"
    letters = [e.mnemonic.lower() for e in entries]
    assert len(letters) == len(set(letters)), "two entries of one menu share a mnemonic"
    for entry in entries:
        assert entry.mnemonic.lower() in entry.label.lower()


def test_notices_read_in_german(german: None) -> None:
    events = [
        SessionEvent(EventKind.NEEDS_INPUT, "a", "Probenlauf", "plate_map"),
        SessionEvent(EventKind.FAILED, "b", "Defekt", "Defekt"),
        SessionEvent(EventKind.ABANDONED, "c", "Gestoppt", "Gestoppt"),
        SessionEvent(EventKind.SYNC_PROBLEM, "d", "Projekt Alpha", "Defekt"),
    ]
    notices = [notice_for([e]) for e in events] + [notice_for(events)]
    notices.append(paused_summary(events[:1]))  # type: ignore[arg-type]
    notices.append(paused_summary([events[0], events[2]]))  # type: ignore[arg-type]
    strings = []
    for notice in notices:
        assert notice is not None
        strings += [notice.summary, *notice.body.split("\n"), *(t for _k, t in notice.actions)]
    assert "Eingabe nötig: Probenlauf" in strings
    assert_german(strings)


@pytest.mark.parametrize(
    ("count", "words"),
    [(1, "1 wartet auf Eingabe"), (2, "2 warten auf Eingabe"), (5, "5 warten auf Eingabe")],
)
def test_german_plural_forms(german: None, count: int, words: str) -> None:
    assert header_text(Counts(waiting=count), MenuFlags()) == words


@pytest.mark.parametrize(
    ("count", "words"), [(0, "0 échouée"), (1, "1 échouée"), (2, "2 échouées")]
)
def test_french_plural_forms_count_zero_as_one(count: int, words: str) -> None:
    assert i18n.install("fr") == "fr"
    try:
        assert i18n.ngettext("{n} failed", "{n} failed", count).format(n=count) == words
        assert age_words(125) == "2 min"
    finally:
        i18n.install("en")


def test_english_stays_english_without_a_catalog(store: SessionStore, clock: FakeClock) -> None:
    i18n.install("en")
    waiting(store, "Probenlauf")
    waiting(store, "Kalibrierung")
    assert build_menu(store.sessions(), clock(), MenuFlags()).header == "2 need input"
