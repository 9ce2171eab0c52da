"""The settings file, as an operator gets to it: opened in the desktop's editor, or shown
with its path (Copy path, Open folder) and its problems when there is no editor.

Also the place the "Settings file has N problems" entry leads to, and where "Reload
settings" can be chosen again after an edit.
"""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QProcess, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tray_app.config import LoadedSettings
from tray_app.i18n import _, ngettext

_log = logging.getLogger(__name__)

#: The running xdg-open processes (kept referenced until they finish).
_openers: set[QProcess] = set()


def open_in_editor(path: Path, on_failure: Callable[[str], None]) -> None:
    """Open ``path`` in the desktop's program for it; ``on_failure(reason)`` if none does.

    On Linux Qt hands the file to xdg-open and reports success once it has *started*
    it, whatever xdg-open then finds; so xdg-open is run here and its exit status read
    (it exits non-zero when no program is set up for the file).
    """
    if not sys.platform.startswith("linux"):
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
            on_failure(_("no program is set up to open it"))
        return
    program = shutil.which("xdg-open")
    if program is None:
        on_failure(_("xdg-open, which opens files in their program, is not installed"))
        return
    process = QProcess()
    _openers.add(process)

    def finished(code: int, _status: QProcess.ExitStatus) -> None:
        _openers.discard(process)
        if code != 0:
            detail = bytes(process.readAllStandardError().data()).decode(errors="replace")
            _log.warning("xdg-open %s exited %s: %s", path, code, detail.strip())
            on_failure(_("no program is set up to open it (xdg-open could not)"))
        process.deleteLater()

    def failed(error: QProcess.ProcessError) -> None:
        if error is QProcess.ProcessError.FailedToStart:
            _openers.discard(process)
            on_failure(_("xdg-open could not be started"))
            process.deleteLater()

    process.finished.connect(finished)
    process.errorOccurred.connect(failed)
    process.start(program, [str(path)])


class SettingsWindow(QDialog):
    """The settings file's path, where it comes from, and its problems; reload on demand."""

    reload_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("ExLab Tray settings"))
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        layout.addWidget(self.reason)
        layout.addWidget(QLabel(_("Your settings file:")))
        self.path = QLineEdit()
        self.path.setReadOnly(True)
        self.path.setAccessibleName(_("Settings file"))
        layout.addWidget(self.path)
        self.site = QLabel()
        self.site.setWordWrap(True)
        self.site.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.site)
        self.problems_title = QLabel()
        layout.addWidget(self.problems_title)
        self.problems = QListWidget()
        self.problems.setWordWrap(True)
        self.problems.setAccessibleName(_("Problems"))
        layout.addWidget(self.problems)

        buttons = QDialogButtonBox()
        self.copy_button = QPushButton(_("Copy path"))
        self.folder_button = QPushButton(_("Open folder"))
        self.reload_button = QPushButton(_("Reload settings"))
        for button in (self.copy_button, self.folder_button, self.reload_button):
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setDefault(True)
        buttons.rejected.connect(self.close)
        self.copy_button.clicked.connect(self.copy_path)
        self.folder_button.clicked.connect(self.open_folder)
        self.reload_button.clicked.connect(self.reload_requested.emit)
        layout.addWidget(buttons)
        self._file = Path()

    def show_settings(self, loaded: LoadedSettings, reason: str | None = None) -> None:
        """Fill in ``loaded`` (path, site file, problems); ``reason`` says why we are here."""
        self._file = loaded.path
        self.reason.setText(
            reason
            or _("Edit this file in any text editor and save it: the change applies at once.")
        )
        self.path.setText(str(loaded.path))
        if loaded.site_path is not None:
            locked = ", ".join(sorted(loaded.locked)) or _("none")
            self.site.setText(
                _(
                    "Your site's settings ({path}) come first; "
                    "settings it fixes for everyone: {locked}."
                ).format(path=loaded.site_path, locked=locked)
            )
            self.site.show()
        else:
            self.site.hide()
        self.problems.clear()
        count = len(loaded.problems)
        if count:
            self.problems_title.setText(
                ngettext(
                    "{n} problem (each is skipped; the rest applies):",
                    "{n} problems (each is skipped; the rest applies):",
                    count,
                ).format(n=count)
            )
            for problem in loaded.problems:
                self.problems.addItem(str(problem))
        else:
            self.problems_title.setText(_("No problems: every setting in the file applies."))
        self.problems.setVisible(bool(count))
        self.adjustSize()

    def problem_lines(self) -> list[str]:
        return [self.problems.item(i).text() for i in range(self.problems.count())]

    def copy_path(self) -> None:
        QGuiApplication.clipboard().setText(str(self._file))

    def open_folder(self) -> None:
        folder = self._file.parent
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
