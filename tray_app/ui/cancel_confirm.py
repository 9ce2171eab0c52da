"""The "Cancel session?" question: keep the partial files for review, discard them, or go back.

Opened with ``open()`` (window-modal, non-blocking): a nested ``exec()`` loop
inside the qasync loop would stall every coroutine while the box is up.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QMessageBox, QWidget

from tray_app.i18n import _

KEEP_FILES = "keep_files"
DISCARD_FILES = "discard_files"
KEEP_EDITING = "keep_editing"


def ask_cancel(
    parent: QWidget | None,
    title: str,
    on_choice: Callable[[bool], None],
    *,
    back_label: str | None = None,
) -> QMessageBox:
    """Ask how to cancel ``title``; calls ``on_choice(discard_files)`` unless the person
    goes back. Returns the (already open) box."""
    box = QMessageBox(parent)
    box.setObjectName("cancel_confirm")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(_("Cancel session"))
    # The title has quotes of its own ("Run 'plate 7' of ..."): it goes on its own line.
    box.setText(_("Cancel this session?\n{title}").format(title=title))
    box.setInformativeText(
        _(
            "It stops now. Either choice cancels it; the files it already created are "
            "kept for review or deleted."
        )
    )
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    keep = box.addButton(_("Cancel, &keep files"), QMessageBox.ButtonRole.AcceptRole)
    keep.setObjectName(KEEP_FILES)
    discard = box.addButton(_("Cancel, &delete files"), QMessageBox.ButtonRole.DestructiveRole)
    discard.setObjectName(DISCARD_FILES)
    back = box.addButton(back_label or _("Keep editing"), QMessageBox.ButtonRole.RejectRole)
    back.setObjectName(KEEP_EDITING)
    # Going back is the safe default for Enter and what Esc does.
    box.setDefaultButton(back)
    box.setEscapeButton(back)

    def clicked(button: QAbstractButton) -> None:
        if button is keep:
            on_choice(False)
        elif button is discard:
            on_choice(True)

    box.buttonClicked.connect(clicked)
    box.open()
    return box
