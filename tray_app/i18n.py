"""The one message catalog: gettext (the standard ``.po``/``.mo`` format, extracted and
compiled with Babel, see ``scripts/i18n.sh``) for every layer, Qt-free.

The language follows the desktop's locale (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``,
``LANG``, in gettext's order); the ``language`` setting overrides it. Until
:func:`install` runs, and for a message a catalog lacks, the English text is used.

Strings built at import time are marked with :func:`N_` and translated where shown, so
the language chosen at start-up applies to them too. Wire values, codes, log messages and
files on disk stay English.
"""

from __future__ import annotations

import gettext
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from tray_app import paths

if TYPE_CHECKING:
    from tray_app.config import LoadedSettings

__all__ = [
    "DOMAIN",
    "LANGUAGE_PATTERN",
    "N_",
    "_",
    "current_language",
    "gettext_",
    "install",
    "install_from_settings",
    "languages_for",
    "locale_dir",
    "ngettext",
]

DOMAIN = "exlab-tray"
#: What the ``language`` setting accepts: ``de``, ``fr``, ``pt_BR``, ``de-CH``.
LANGUAGE_PATTERN = r"^[a-z]{2,3}([_-][A-Za-z]{2,4})?$"
_ENV_ORDER = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
_PLAIN_LOCALES = {"C", "POSIX"}

_translations: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def locale_dir() -> Path:
    """``resources/locale/<lang>/LC_MESSAGES/exlab-tray.mo`` (source tree or frozen bundle)."""
    return paths.resources_dir() / "locale"


def languages_for(setting: str | None, environ: Mapping[str, str] | None = None) -> list[str]:
    """The languages to try, best first: the setting, else the desktop's locale.

    ``de_CH.UTF-8`` gives ``["de_CH", "de"]``; ``C``/``POSIX``, unset or empty give
    ``[]`` (English). ``LANGUAGE`` may list several (``fr:de``), as gettext allows.
    """
    environ = os.environ if environ is None else environ
    if setting:
        candidates = [setting]
    else:
        candidates = []
        for name in _ENV_ORDER:
            value = environ.get(name, "")
            if value:
                candidates = value.split(":") if name == "LANGUAGE" else [value]
                break
    wanted: list[str] = []
    for raw in candidates:
        code = re.split(r"[.@]", raw.strip(), maxsplit=1)[0].replace("-", "_")
        if not code or code in _PLAIN_LOCALES:
            continue
        for option in (code, code.split("_", 1)[0]):
            if option not in wanted:
                wanted.append(option)
    return wanted


def install(setting: str | None = None, *, directory: Path | None = None) -> str:
    """Load the catalog for the chosen language; the language in use (``"en"`` without one).

    Never raises: a missing or broken catalog means English.
    """
    global _translations, _language
    wanted = languages_for(setting)
    folder = directory or locale_dir()
    chosen: gettext.NullTranslations = gettext.NullTranslations()
    language = "en"
    for code in wanted:
        try:
            chosen = gettext.translation(DOMAIN, localedir=str(folder), languages=[code])
        except (OSError, ValueError):
            continue
        language = code
        break
    if wanted and wanted[0].split("_", 1)[0] == "en":
        language = "en"
    _translations, _language = chosen, language
    return language


def install_from_settings() -> LoadedSettings | None:
    """:func:`install` for the ``language`` setting of the user's settings (the site's
    under them), as the tray and ``serve`` choose it: the command line speaks the tray's
    language. The settings read, for the command to go on with (read quietly: it logs
    their problems once its logging is set up; here a problem means the locale); None
    when there is no settings file to read.
    """
    if not paths.settings_path().exists() and not paths.site_settings_path().exists():
        # No setting can be made: the locale, without importing the settings' reader
        # (~0.1-0.3 s of a command's start on a loaded machine).
        install(None)
        return None
    # Imported here: config imports this module (LANGUAGE_PATTERN).
    from tray_app.config import load_settings

    loaded = load_settings(quiet=True)  # the loader never raises
    install(loaded.settings.language)
    return loaded


def current_language() -> str:
    """The catalog's language (``"en"`` when English is shown)."""
    return _language


def gettext_(message: str) -> str:
    """``message`` in the current language (the English text when it has no translation)."""
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The right plural form for ``count`` (languages have one, two or more forms)."""
    return _translations.ngettext(singular, plural, count)


def N_(message: str) -> str:  # noqa: N802 (gettext's usual name for the marker)
    """Mark ``message`` for the catalog without translating it yet: for constants built at
    import time, before :func:`install` ran. Translate them with :func:`_` where shown."""
    return message


#: The usual short name, for ``from tray_app.i18n import _``.
_ = gettext_
