"""The small UI memory file (``ui-state.ini`` in the config folder): the last operator and
instrument of the New dialogs, a notice pause that outlives a login. Not settings: nothing
here changes what the app does, only what a form starts with."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from tray_app import paths

__all__ = ["ui_state"]


def ui_state() -> QSettings:
    """The memory file, opened for one read or write (QSettings syncs it)."""
    return QSettings(str(paths.config_dir() / "ui-state.ini"), QSettings.Format.IniFormat)
