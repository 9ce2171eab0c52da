"""Qt's own strings (standard buttons, shortcuts, file dialogs) in the app's language, from
the translations PySide6 ships (``qtbase_<lang>.qm``)."""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

__all__ = ["install_qt_translations"]

_log = logging.getLogger(__name__)


def install_qt_translations(app: QCoreApplication, language: str) -> list[QTranslator]:
    """Install Qt's translations for ``language`` (``de``, ``fr_CA``) into ``app``.

    Returns the translators installed (none for English or when Qt has no catalog for the
    language; Qt's English strings then stay). Keep them: a translator that is garbage
    collected stops translating.
    """
    if language.split("_", 1)[0] == "en":
        return []
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    translator = QTranslator(app)
    if not translator.load(QLocale(language), "qtbase", "_", folder):
        _log.info("Qt has no translation for %s in %s", language, folder)
        return []
    app.installTranslator(translator)
    return [translator]
