"""The tray icon reads on light and dark panels: every state, both variants, rendered at
panel sizes, keeps at least 3:1 contrast (WCAG's ratio for graphics) against white and black.

A GNOME top bar is black under a light theme, so the variant picked from the palette may sit
on either; each variant has to read on both.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

from tray_app.ui.icons import icon_path
from tray_app.ui.menu_model import IconState

#: The icon's solid pixels (anti-aliased rims blend with any panel, so they are left out)
#: and the share of them that must reach the ratio.
SOLID_ALPHA = 0.9
READABLE_SHARE = 0.95
MIN_RATIO = 3.0
SIZES = (16, 22, 32)


def luminance(color: QColor) -> float:
    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * linear(color.redF())
        + 0.7152 * linear(color.greenF())
        + 0.0722 * linear(color.blueF())
    )


def contrast(a: QColor, b: QColor) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def render(svg: Path, size: int, background: QColor) -> tuple[QImage, QImage]:
    """The icon drawn alone (for its coverage) and on ``background`` (what the panel shows)."""
    renderer = QSvgRenderer(str(svg))
    assert renderer.isValid()
    alone = QImage(size, size, QImage.Format.Format_ARGB32)
    alone.fill(Qt.GlobalColor.transparent)
    painter = QPainter(alone)
    renderer.render(painter)
    painter.end()
    panel = QImage(size, size, QImage.Format.Format_ARGB32)
    panel.fill(background)
    painter = QPainter(panel)
    painter.drawImage(0, 0, alone)
    painter.end()
    return alone, panel


def readable_share(svg: Path, size: int, background: QColor) -> float:
    alone, panel = render(svg, size, background)
    drawn = readable = 0
    for y in range(size):
        for x in range(size):
            if alone.pixelColor(x, y).alphaF() < SOLID_ALPHA:
                continue
            drawn += 1
            readable += contrast(panel.pixelColor(x, y), background) >= MIN_RATIO
    assert drawn >= size * size // 10, f"{svg.name} is mostly rims at {size} px"
    return readable / drawn


@pytest.mark.parametrize("state", list(IconState))
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_state_reads_on_white_and_on_black(
    qapp: QApplication, state: IconState, theme: str
) -> None:
    for background in (QColor("white"), QColor("black")):
        for size in SIZES:
            share = readable_share(icon_path(state, theme), size, background)
            assert share >= READABLE_SHARE, (
                f"{state.value}-{theme} at {size} px on {background.name()}: only "
                f"{share:.0%} of it has {MIN_RATIO}:1 contrast"
            )


#: The idle icon of the issue: a dark grey flask, nearly invisible on GNOME's black bar.
OLD_IDLE = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">'
    '<path d="M4.5 1.5h5M5.75 1.75v4L1.9 12.4c-.6 1.1.2 2.1 1.3 2.1h7.6c1.1 0 1.9-1 1.3-2.1'
    'L8.25 5.75v-4" fill="none" stroke="#232629" stroke-width="1.5" stroke-linejoin="round" '
    'stroke-linecap="round"/></svg>'
)


def test_the_measure_fails_the_old_dark_grey_icon_on_black(
    qapp: QApplication, tmp_path: Path
) -> None:
    old = tmp_path / "old-idle-light.svg"
    old.write_text(OLD_IDLE, encoding="utf-8")
    assert readable_share(old, 22, QColor("black")) < 0.1
    assert readable_share(old, 22, QColor("white")) >= READABLE_SHARE
