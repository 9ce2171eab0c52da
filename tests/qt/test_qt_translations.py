"""Qt's own strings follow the app's language, from the translations PySide6 ships."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from tray_app.ui.qt_translations import install_qt_translations


def test_qts_own_strings_in_german_and_back(qapp: QApplication) -> None:
    assert QCoreApplication.translate("QShortcut", "Ctrl") == "Ctrl"
    translators = install_qt_translations(qapp, "de")
    try:
        assert len(translators) == 1
        assert QCoreApplication.translate("QShortcut", "Ctrl") == "Strg"
    finally:
        for translator in translators:
            qapp.removeTranslator(translator)
    assert QCoreApplication.translate("QShortcut", "Ctrl") == "Ctrl"
    assert install_qt_translations(qapp, "en") == []
    assert install_qt_translations(qapp, "xx") == []  # no Qt catalog: Qt's English stays
