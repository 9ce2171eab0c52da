"""The catalog machinery: which language is chosen, loading a compiled catalog, plural forms,
and English for anything a catalog lacks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from tray_app import i18n
from tray_app.config import load_settings


@pytest.fixture(autouse=True)
def english_after() -> Iterator[None]:
    yield
    i18n.install("en")


@pytest.mark.parametrize(
    ("setting", "environ", "expected"),
    [
        ("de", {"LANG": "fr_FR.UTF-8"}, ["de"]),  # the setting wins
        (None, {"LANG": "de_CH.UTF-8"}, ["de_CH", "de"]),
        (None, {"LANGUAGE": "fr:de", "LANG": "en_US.UTF-8"}, ["fr", "de"]),
        (None, {"LC_ALL": "fr_CA.UTF-8@euro", "LANG": "de_DE"}, ["fr_CA", "fr"]),
        (None, {"LC_MESSAGES": "C", "LANG": "de_DE"}, []),  # C is English
        (None, {}, []),
        ("pt-BR", {}, ["pt_BR", "pt"]),
    ],
)
def test_the_language_follows_the_locale_and_the_setting_overrides_it(
    setting: str | None, environ: dict[str, str], expected: list[str]
) -> None:
    assert i18n.languages_for(setting, environ) == expected


def write_german(folder: Path) -> None:
    catalog = Catalog(locale="de", domain=i18n.DOMAIN)
    catalog.add("Pause notifications", "Benachrichtigungen pausieren")
    catalog.add(("{n} session", "{n} sessions"), ("{n} Sitzung", "{n} Sitzungen"))
    target = folder / "de" / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo"
    target.parent.mkdir(parents=True)
    with target.open("wb") as handle:
        write_mo(handle, catalog)


def test_a_compiled_catalog_translates_with_plural_forms_and_falls_back_to_english(
    tmp_path: Path,
) -> None:
    write_german(tmp_path)
    assert i18n.install("de", directory=tmp_path) == "de"
    assert i18n.current_language() == "de"
    assert i18n._("Pause notifications") == "Benachrichtigungen pausieren"
    assert i18n.ngettext("{n} session", "{n} sessions", 1).format(n=1) == "1 Sitzung"
    assert i18n.ngettext("{n} session", "{n} sessions", 2).format(n=2) == "2 Sitzungen"
    assert i18n._("Quit") == "Quit"  # not in the catalog: English
    # A language without a catalog is English, never an error.
    assert i18n.install("fr", directory=tmp_path) == "en"
    assert i18n._("Pause notifications") == "Pause notifications"
    assert i18n.ngettext("{n} session", "{n} sessions", 2) == "{n} sessions"


def test_the_language_setting_is_checked_by_the_loader(exlab_home: Path) -> None:
    settings = exlab_home / "config" / "settings.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text('language = "de"\n')
    assert load_settings().settings.language == "de"
    settings.write_text('language = "German please"\n')
    loaded = load_settings()
    assert loaded.settings.language is None
    assert any("language" in str(problem) for problem in loaded.problems)


def test_the_command_line_takes_the_setting_over_the_locale_as_the_tray_does(
    exlab_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANGUAGE", "de")
    # No settings file at all: the locale (and no settings read to hand on).
    assert i18n.install_from_settings() is None
    assert i18n.current_language() == "de"
    settings = exlab_home / "config" / "settings.toml"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text('language = "fr"\n')
    loaded = i18n.install_from_settings()
    assert i18n.current_language() == "fr"
    assert i18n._("Needs input") != "Needs input"
    # The settings read are handed on to the command (tray, serve, report), not read again.
    assert loaded is not None and loaded.path == settings and loaded.settings.language == "fr"
    # A setting the loader refuses is reported by the tray; here it means the locale.
    settings.write_text('language = "German please"\n')
    loaded = i18n.install_from_settings()
    assert i18n.current_language() == "de"
    assert loaded is not None and not loaded.logged  # logged by the command that uses them
    # The site's file is read too (IT sets the language for everyone: <home>/site here).
    settings.unlink()
    site = exlab_home / "site"
    site.mkdir()
    (site / "settings.toml").write_text('language = "fr"\n')
    i18n.install_from_settings()
    assert i18n.current_language() == "fr"
