"""Renders the app icon (resources/icons/exlab-tray.svg) into the PNG sizes a hicolor icon
theme expects, and optionally a Windows .ico, with Qt's SVG renderer and no display.

    python packaging/render_icons.py --hicolor ROOT/usr/share/icons/hicolor
    python packaging/render_icons.py --ico FILE.ico          (Windows installer, exe icon)
    python packaging/render_icons.py --iconset DIR.iconset   (macOS: then iconutil -c icns)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "resources" / "icons" / "exlab-tray.svg"
HICOLOR_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)
ICON_NAME = "exlab-tray"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hicolor", type=Path, help="hicolor theme folder to fill")
    parser.add_argument("--ico", type=Path, help="also write a Windows .ico here")
    parser.add_argument("--iconset", type=Path, help="also write a macOS .iconset folder")
    parser.add_argument("--source", type=Path, default=SOURCE)
    options = parser.parse_args(argv)

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(options.source))
    if not renderer.isValid():
        print(f"render_icons: {options.source} is not a valid SVG", file=sys.stderr)
        return 1

    def render(size: int) -> QImage:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        return image

    def save(image: QImage, path: Path, fmt: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(path), fmt):
            raise SystemExit(f"render_icons: could not write {path} ({fmt})")

    if options.hicolor:
        for size in HICOLOR_SIZES:
            save(
                render(size),
                options.hicolor / f"{size}x{size}" / "apps" / f"{ICON_NAME}.png",
                "PNG",
            )
        scalable = options.hicolor / "scalable" / "apps" / f"{ICON_NAME}.svg"
        scalable.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(options.source, scalable)
    if options.ico:
        save(render(256), options.ico, "ICO")  # Qt's ico writer; Windows scales it down
    if options.iconset:
        # The names iconutil expects: icon_<n>x<n>.png and the double-density @2x twin.
        for size in (16, 32, 128, 256, 512):
            save(render(size), options.iconset / f"icon_{size}x{size}.png", "PNG")
            save(render(size * 2), options.iconset / f"icon_{size}x{size}@2x.png", "PNG")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
