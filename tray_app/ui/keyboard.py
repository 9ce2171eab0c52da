"""Keyboard and screen-reader helpers shared by the dialogs: mnemonics picked so no two
clash in one window, and names for the parts of a combo box that Qt leaves unnamed.

Qt names a field from the label that has it as buddy; on Linux a combo box is named by its
current value and labelled by relation (Qt's choice for AT-SPI), but its popup list and the
line edit of an editable combo get no name at all unless we give them one.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QApplication, QComboBox, QDialog, QPushButton, QWidget

__all__ = [
    "DefaultButtonKeeper",
    "MnemonicPicker",
    "mnemonic_letters",
    "name_combo_parts",
    "strip_mnemonic",
]


class MnemonicPicker:
    """Hands out one mnemonic letter per label, never the same one twice in a window."""

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self.used = {letter.lower() for letter in reserved}

    def mark(self, text: str) -> str:
        """``text`` for a QLabel or button: "&" escaped, and one before a free letter (the
        first letter of a word if one is free, else any letter); unchanged without one."""
        at = self._pick(text)
        escaped = text.replace("&", "&&")
        if at is None:
            return escaped
        self.used.add(text[at].lower())
        return text[:at].replace("&", "&&") + "&" + text[at:].replace("&", "&&")

    def _pick(self, text: str) -> int | None:
        starts = [i for i, c in enumerate(text) if c.isalnum() and (i == 0 or text[i - 1] == " ")]
        others = [i for i, c in enumerate(text) if c.isalnum() and i not in starts]
        for index in (*starts, *others):
            if text[index].lower() not in self.used and text[index].isascii():
                return index
        return None


def mnemonic_letters(*texts: str) -> tuple[str, ...]:
    """The letters the (translated) button words mark with "&", for a form to leave free."""
    return tuple(t[t.index("&") + 1].lower() for t in texts if 0 <= t.find("&") < len(t) - 1)


def strip_mnemonic(text: str) -> str:
    """A label as read: the mnemonic marker gone, "&&" back to "&"."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def name_combo_parts(combo: QComboBox, name: str) -> None:
    """Name the popup list (and the line edit of an editable combo) after the field."""
    combo.view().setAccessibleName(f"{name}: choices")
    line = combo.lineEdit()
    if line is not None:
        line.setAccessibleName(name)


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
