"""What an operator typed into a prompt and did not send yet, kept per session.

Closing the prompt dialog (Close, Escape, the window's X) must not throw typing away: the
next dialog for the same session starts from the draft. A draft lives until the session
stops waiting (answered here or elsewhere, cancelled, abandoned, ended).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tray_app.sessions.session import Session
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import Change, SessionStore


class PromptDrafts:
    """Unsent answers by session id, dropped when their session stops waiting."""

    def __init__(self, store: SessionStore) -> None:
        self._drafts: dict[str, dict[str, Any]] = {}
        self._remove_observer: Callable[[], None] | None = store.add_observer(self._changed)

    def save(self, session_id: str, answers: dict[str, Any]) -> None:
        kept = {key: value for key, value in answers.items() if value not in (None, "")}
        if kept:
            self._drafts[session_id] = kept
        else:
            self._drafts.pop(session_id, None)

    def get(self, session_id: str) -> dict[str, Any]:
        return dict(self._drafts.get(session_id, {}))

    def drop(self, session_id: str) -> None:
        self._drafts.pop(session_id, None)

    def _changed(self, session: Session, change: Change) -> None:
        if change is Change.HEARTBEAT or session.session_id not in self._drafts:
            return
        if session.state is not SessionState.INPUT_REQUIRED:
            self._drafts.pop(session.session_id, None)

    def close(self) -> None:
        if self._remove_observer is not None:
            self._remove_observer()
            self._remove_observer = None
