"""One open window per key (a session's prompt or details, a confirmation, the New run
dialog): asking again brings the open one forward instead of opening a second.

``SessionActions`` keeps four of these; each is a plain dict (tests and callers look
windows up by key) that also knows how to raise, remember and forget its windows.
"""

from __future__ import annotations

from typing import Any, TypeVar

from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QWidget

__all__ = ["OpenDialogs", "bring_forward"]

K = TypeVar("K")
W = TypeVar("W", bound=QWidget)


def bring_forward(widget: QWidget) -> None:
    """Show ``widget`` on top, restored if it was minimized, and give it the focus."""
    if widget.isMinimized():
        widget.showNormal()
    widget.show()
    widget.raise_()
    widget.activateWindow()


class OpenDialogs(dict[K, W]):
    """The open window of each key."""

    def forward(self, key: K) -> bool:
        """Bring the open window of ``key`` forward; False when there is none."""
        existing = self.get(key)
        if existing is None:
            return False
        bring_forward(existing)
        return True

    def keep(self, key: K, widget: W, gone: SignalInstance) -> W:
        """Remember ``widget`` as the window of ``key`` until ``gone`` fires."""
        self[key] = widget

        def forget(*_args: Any) -> None:
            # Only this window: a later one of the same key stays.
            if self.get(key) is widget:
                del self[key]

        gone.connect(forget)
        return widget

    def close_all(self) -> None:
        """Close every window and forget them all."""
        for widget in list(self.values()):
            widget.close()
        self.clear()
