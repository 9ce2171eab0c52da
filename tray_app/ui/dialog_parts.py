"""What the dialogs that ask for something (New project/run, a plugin's prompt) are built
from the same way: their push buttons in a button box, and the one column they stand in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

__all__ = [
    "DefaultButtonKeeper",
    "Stretched",
    "add_button",
    "add_main_button",
    "column",
    "heading_label",
]


@dataclass(frozen=True)
class Stretched:
    """A part of :func:`column` that grows with the dialog."""

    widget: QWidget


def add_button(
    box: QDialogButtonBox,
    text: str,
    name: str,
    role: QDialogButtonBox.ButtonRole,
    clicked: Callable[[], object],
    *,
    tooltip: str | None = None,
) -> QPushButton:
    """A push button of ``box``: its words, its object name (tests and screen readers find
    it by that), its role (the platform orders the buttons by it) and what it does."""
    button = QPushButton(text)
    button.setObjectName(name)
    if tooltip is not None:
        button.setToolTip(tooltip)
    box.addButton(button, role)
    button.clicked.connect(clicked)
    return button


def add_main_button(
    dialog: QDialog, box: QDialogButtonBox, text: str, name: str, clicked: Callable[[], object]
) -> QPushButton:
    """The dialog's main button (Create, Submit): accepts, is the default, and stays the
    one Enter presses after Tab passed another button (``DefaultButtonKeeper``, a child
    of the dialog, so it lives and ends with it)."""
    button = add_button(box, text, name, QDialogButtonBox.ButtonRole.AcceptRole, clicked)
    button.setDefault(True)
    DefaultButtonKeeper(dialog, button)
    return button


def heading_label() -> QLabel:
    """A dialog's first line: bold, a little larger, wrapping."""
    heading = QLabel()
    font = heading.font()
    font.setPointSizeF(font.pointSizeF() * 1.15)
    font.setBold(True)
    heading.setFont(font)
    heading.setWordWrap(True)
    return heading


def column(
    dialog: QDialog, *parts: QWidget | QLayout | int | Stretched, spacing: int | None = None
) -> QVBoxLayout:
    """The dialog's one column with the app's margins. In ``parts`` an int is extra space,
    and ``Stretched(widget)`` takes the height the others leave."""
    layout = QVBoxLayout(dialog)
    layout.setContentsMargins(18, 16, 18, 14)
    if spacing is not None:
        layout.setSpacing(spacing)
    for part in parts:
        if isinstance(part, int):
            layout.addSpacing(part)
        elif isinstance(part, Stretched):
            layout.addWidget(part.widget, 1)
        elif isinstance(part, QLayout):
            layout.addLayout(part)
        else:
            layout.addWidget(part)
    return layout


class DefaultButtonKeeper(QObject):
    """Enter in a field presses the dialog's main button, even after Tab passed another one.

    Qt makes a focused push button the default (Enter presses the button you are on), but
    when Tab then leaves it for a field the button stays default: Enter in the field would
    press Cancel. This gives the default back to ``button`` whenever a field of ``dialog``
    gets the focus. A child of the dialog, so the connection ends with it.
    """

    def __init__(self, dialog: QDialog, button: QPushButton) -> None:
        super().__init__(dialog)
        self._dialog = dialog
        self._button = button
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)

    @Slot(QWidget, QWidget)
    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if new is None or isinstance(new, QPushButton) or new.window() is not self._dialog:
            return
        if self._button.isEnabled() and not self._button.isDefault():
            self._button.setDefault(True)
