"""A notification pause outlives a restart: "until tomorrow morning" chosen in the evening
still holds after the next login. Kept in the small UI memory file (``ui-state.ini``)."""

from __future__ import annotations

import logging
from datetime import datetime

from tray_app.ui.notifications import Notifier
from tray_app.ui.ui_memory import ui_state

__all__ = ["remember_pause", "restore_pause"]

_log = logging.getLogger(__name__)
PAUSE_KEY = "notifications/paused_until"


def remember_pause(until: datetime | None) -> None:
    """Store the end of the pause (an aware datetime), or forget it (None)."""
    memory = ui_state()
    if until is None:
        memory.remove(PAUSE_KEY)
    else:
        memory.setValue(PAUSE_KEY, until.isoformat())
    memory.sync()


def restore_pause(notifier: Notifier, now: datetime) -> datetime | None:
    """Pause ``notifier`` again if a remembered pause has not ended by ``now``."""
    raw = ui_state().value(PAUSE_KEY)
    if not raw:
        return None
    try:
        until = datetime.fromisoformat(str(raw))
    except ValueError:
        _log.warning("ignoring an unreadable notification pause %r", raw)
        remember_pause(None)
        return None
    if until.tzinfo is None or until <= now:
        remember_pause(None)
        return None
    notifier.pause(until)
    return until
