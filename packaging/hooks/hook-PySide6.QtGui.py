# Replaces PyInstaller's own hook for PySide6.QtGui: the same collection, minus the Qt
# plugins ExLab Tray never loads. Dropping them here (before dependency analysis) also
# keeps their libraries out: the GTK3 platform theme alone drags GTK3, GDK, cairo and pango in.
import os

from PyInstaller.utils.hooks.qt import add_qt6_dependencies

hiddenimports, binaries, datas = add_qt6_dependencies(__file__)

# Plugin folders with nothing we use: no Wayland platform plugin is shipped (Qt falls back
# to xcb/XWayland), eglfs and linuxfb are for kiosk devices, not desktops.
_UNUSED_PLUGIN_TYPES = {
    "egldeviceintegrations",
    "generic",
    "wayland-decoration-client",
    "wayland-graphics-integration-client",
    "wayland-shell-integration",
    "accessiblebridge",
}
# Single plugins: the GTK3 theme (see above), image formats the icons are not in, and
# platforms other than xcb (desktop) and offscreen (--self-test, CI).
_UNUSED_PLUGINS = (
    "qgtk3", "qtiff", "qwebp", "qwbmp", "qtga", "qpdf", "qminimal", "qeglfs", "qlinuxfb",
    "qvnc", "qvkkhrdisplay", "qminimalegl", "qdirect2d", "qwayland",
)  # fmt: skip


def _wanted(entry):
    source, dest = entry
    parts = dest.replace("\\", "/").split("/")
    if "plugins" in parts and _UNUSED_PLUGIN_TYPES.intersection(parts):
        return False
    name = os.path.basename(source)
    return not any(bad in name for bad in _UNUSED_PLUGINS)


binaries = [entry for entry in binaries if _wanted(entry)]
