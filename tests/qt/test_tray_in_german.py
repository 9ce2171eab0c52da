"""The real tray menu in German: the Tray built on a real store holding sessions in every
state (running, waiting for input, done, failed, cancelled, abandoned, interrupted) shows
no common English word in any entry, submenu entry or tooltip, nor in the icon's tooltip.
What the sessions say of themselves (titles, the plugin's name, an error's text) is data."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.qt.loop_helpers import settle
from tests.qt.tray_fixtures import aborted, done, failed, running, waiting
from tests.support.catalogs import english_words, msgstrs
from tray_app import i18n
from tray_app.sessions.store import ABANDONED_CODE, SessionStore
from tray_app.ui.tray import Tray, iter_actions
from tray_app.ui.tray_host import label_text

DATA = ("Kalibrierung", "Probenlauf", "Projekt Alpha", "Defekt", "Gestoppt", "Vergessen")
DATA += ("Unterbrochen", "plate_map", "Sensor kaputt", "How many samples?")  # the plugin asks


@pytest.fixture
def german() -> Iterator[None]:
    assert i18n.install("de") == "de"
    yield
    i18n.install("en")


def without_data(text: str) -> str:
    for item in sorted(DATA, key=len, reverse=True):
        text = text.replace(item, " ")
    return text


@pytest.mark.usefixtures("german")
def test_the_tray_menu_reads_in_german(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore
) -> None:
    tray = Tray(tray_store)
    running(tray_store, "Kalibrierung", current=1, total=2, plugin="plate_map")
    waiting(tray_store, "Probenlauf")
    done(tray_store, "Projekt Alpha")
    failed(tray_store, "Defekt", message="Sensor kaputt")
    aborted(tray_store, "Gestoppt")
    aborted(tray_store, "Vergessen", code=ABANDONED_CODE)
    aborted(tray_store, "Unterbrochen", code="interrupted")
    settle(tray_loop)
    try:
        shown = [tray.icon.toolTip()]
        for _depth, action in iter_actions(tray.menu):
            shown += [label_text(action.text(), dbus_menu=False), action.toolTip()]
        shown = [text for text in shown if text]
        # Every state reached the menu (in German), so every kind of entry was read.
        joined = "\n".join(shown)
        for words in ("Wartet auf Eingabe", "Abgebrochen", "Beenden"):
            assert words in joined, joined
        for text in shown:
            left = english_words(without_data(text))
            assert not left, f"English in {text!r}: {left}"
    finally:
        tray.close()


@pytest.mark.usefixtures("german")
def test_each_mnemonic_is_marked_where_the_translation_put_it(
    tray_loop: asyncio.AbstractEventLoop, tray_store: SessionStore
) -> None:
    tray = Tray(tray_store)
    done(tray_store, "Projekt Alpha")
    failed(tray_store, "Defekt", message="Sensor kaputt")
    settle(tray_loop)
    try:
        texts = [action.text() for _depth, action in iter_actions(tray.menu)]
        # The marked letter comes earlier in these labels too ("Einstellungen", "Bericht"):
        # the "&" stays where the catalog put it, so the underline does.
        assert "Einstellungen ne&u laden" in texts
        assert "Bericht für den Support spei&chern…" in texts
        # Every entry with a mnemonic reads exactly as the catalog's marked words.
        translations = set(msgstrs("de"))
        marked = [text for text in texts if "&" in text.replace("&&", "")]
        assert len(marked) > 10
        for text in marked:
            assert text in translations, text
    finally:
        tray.close()
