"""The shipped German and French catalogs are complete: every message the code marks is in
each .po, translated in every plural form, not fuzzy, with no {placeholder} the code does
not fill; and
the committed .mo files (what the app and the bundle load) say what the .po files say."""

from __future__ import annotations

import gettext

import pytest

from tests.support.catalogs import LANGUAGES, LOCALE, marked_messages, placeholders, read_catalog


def test_the_code_marks_messages() -> None:
    marked = marked_messages()
    assert "Needs input" in marked
    assert ("{n} needs input", "{n} need input") in marked


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_marked_message_is_translated(language: str) -> None:
    catalog = read_catalog(language)
    missing, untranslated, fuzzy, broken = [], [], [], []
    for msgid, note in marked_messages().items():
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        message = catalog.get(key)
        if message is None:
            missing.append(key)
            continue
        if message.fuzzy:
            fuzzy.append(key)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if isinstance(msgid, tuple) and len(strings) != catalog.num_plurals:
            untranslated.append(key)
        if not all(strings):
            untranslated.append(key)
            continue
        # A note for translators may offer more placeholders ("{Phase} is...").
        wanted = placeholders(msgid[-1] if isinstance(msgid, tuple) else msgid) | placeholders(note)
        if any(placeholders(s) - wanted for s in strings):
            broken.append(key)
    assert not missing, f"{language}: not in the catalog: {missing}"
    assert not untranslated, f"{language}: not translated: {untranslated}"
    assert not fuzzy, f"{language}: fuzzy: {fuzzy}"
    assert not broken, f"{language}: placeholders that the English does not have: {broken}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_mo_says_what_the_po_says(language: str) -> None:
    folder = LOCALE / language / "LC_MESSAGES"
    with (folder / "exlab-tray.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    catalog = read_catalog(language)
    plural = gettext.c2py(catalog.plural_expr)  # the form index for a count, as gettext does
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple):
            for n in (1, 2, 5, 1_000_000):
                got = compiled.ngettext(message.id[0], message.id[1], n)
                assert got == message.string[plural(n)], f"{language}: run i18n.sh compile"
        else:
            got = compiled.gettext(message.id)
            assert got == message.string, f"{language}: run scripts/i18n.sh compile"
