"""Tray and app icons from the SVG sources in ``resources/icons``, light or dark per palette.

"light" icons (dark glyphs) suit light panels, "dark" icons suit dark panels.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QIcon, QPalette

from tray_app.paths import resources_dir
from tray_app.ui.menu_model import IconState

APP_ICON_NAME = "exlab-tray"


def icons_dir() -> Path:
    return resources_dir() / "icons"


def icon_path(state: IconState, theme: str) -> Path:
    return icons_dir() / f"{state.value}-{theme}.svg"


def prefers_dark() -> bool:
    """True when the desktop uses a dark colour scheme (or, failing that, a dark palette)."""
    app = QGuiApplication.instance()
    if not isinstance(app, QGuiApplication):
        return False
    scheme = QGuiApplication.styleHints().colorScheme()
    if scheme == Qt.ColorScheme.Dark:
        return True
    if scheme == Qt.ColorScheme.Light:
        return False
    window = QGuiApplication.palette().color(QPalette.ColorRole.Window)
    return window.lightness() < 128


def theme_name(dark: bool) -> str:
    return "dark" if dark else "light"


class IconSet:
    """Caches one QIcon per (state, theme): switching state costs a dict lookup."""

    def __init__(self) -> None:
        self._cache: dict[tuple[IconState, str], QIcon] = {}

    def icon(self, state: IconState, dark: bool) -> QIcon:
        key = (state, theme_name(dark))
        icon = self._cache.get(key)
        if icon is None:
            icon = _load_svg(icon_path(*key))
            self._cache[key] = icon
        return icon


def app_icon() -> QIcon:
    """The application icon: the desktop theme's if installed, else the bundled SVG."""
    bundled = _load_svg(icons_dir() / f"{APP_ICON_NAME}.svg")
    return QIcon.fromTheme(APP_ICON_NAME, bundled)


def _load_svg(path: Path) -> QIcon:
    # Qt's SVG icon engine renders each requested size from the vector source.
    return QIcon(str(path))
