"""The notice the tray shows once after a start when runs from before it still wait on
the operator ("1 run still needs your input", with Answer)."""

from __future__ import annotations

from collections.abc import Iterable

from tray_app.creation.wording import session_title
from tray_app.i18n import gettext_, ngettext
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import SessionStore
from tray_app.ui.notice_backends import Notice

__all__ = ["ANSWER", "still_waiting_notice"]

#: The notice's action key; "default" (a click on the body) answers too.
ANSWER = "answer"


def still_waiting_notice(
    store: SessionStore, session_ids: Iterable[str]
) -> tuple[Notice, str] | None:
    """The notice for the restored sessions still waiting, and the one Answer opens."""
    waiting = [
        session
        for sid in session_ids
        if (session := store.get(sid)) is not None and session.state is SessionState.INPUT_REQUIRED
    ]
    if not waiting:
        return None
    count = len(waiting)
    summary = ngettext(
        "{n} run still needs your input", "{n} runs still need your input", count
    ).format(n=count)
    body = "\n".join(session_title(s) for s in waiting[:3]) + ("\n..." if count > 3 else "")
    return Notice(summary, body, ((ANSWER, gettext_("Answer")),), ()), waiting[0].session_id
