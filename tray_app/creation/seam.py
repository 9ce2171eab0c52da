"""The typed seam between the front ends (the API routes, the tray's dialogs) and the
creation controller: what they may ask of it, as one protocol. The UI calls the
controller in-process through this; it never goes through the API."""

from __future__ import annotations

from typing import Any, Protocol

from tray_app.creation.prompt import Prompt
from tray_app.creation.requests import CreateRequest
from tray_app.creation.sync import SyncJob, SyncSummary
from tray_app.creation.templates import TemplateInfo
from tray_app.sessions.session import JsonDict

__all__ = ["CreationSeam"]


class CreationSeam(Protocol):
    """What :class:`tray_app.creation.controller.CreationController` offers its callers.

    Refusals are ``CreationError`` values with stable codes (``creation/errors.py``).
    """

    @property
    def accepting(self) -> bool:
        """False once shutdown has begun: new sessions are refused."""
        ...

    async def create(self, request: CreateRequest) -> JsonDict:
        """Open a session for ``request``; answers with its handle once it is validated."""
        ...

    async def resume(self, session_id: str, answers: dict[str, Any]) -> JsonDict:
        """Answer the session's pending prompt (checked first: ``invalid_answers``)."""
        ...

    async def cancel(self, session_id: str, discard_files: bool = False) -> JsonDict:
        """Abort the session; ``discard_files`` removes its partial folder."""
        ...

    async def discard_folder(self, session_id: str) -> JsonDict:
        """Remove the unfinished folder an ended (interrupted, failed) session left."""
        ...

    async def start_again(self, session_id: str) -> JsonDict:
        """A new session with an ended session's request."""
        ...

    def templates(self, kind: str | None = None) -> list[TemplateInfo]:
        """Usable templates, of ``kind`` (``project``, ``run``, ``test-run``) when given."""
        ...

    def pending_prompt(self, session_id: str) -> Prompt | None:
        """The typed prompt the session waits on, or None."""
        ...

    # ---- NAS sync -----------------------------------------------------------------
    def sync_summary(self) -> SyncSummary | None:
        """The sync queue at a glance; None when no NAS is set."""
        ...

    def sync_jobs(self) -> list[SyncJob]:
        """Every sync job, oldest first."""
        ...

    def sync_job_for(self, session_id: str) -> SyncJob | None:
        """The newest sync job of the session's folder, or None."""
        ...

    async def retry_sync(self, job_id: str) -> SyncJob:
        """Retry a job now (``sync_job_not_found`` for an unknown id)."""
        ...

    async def requeue_sync(self, ident: str) -> SyncJob:
        """Queue a job, session or folder again (a blocked folder is validated again)."""
        ...

    # ---- quitting ----------------------------------------------------------------
    @property
    def live_task_count(self) -> int:
        """Sessions whose pipeline is still running."""
        ...

    def begin_shutdown(self) -> None:
        """Refuse new sessions from now on; running ones go on."""
        ...

    async def wait_idle(self, timeout: float) -> bool:  # noqa: ASYNC109 (contract)
        """True once no pipeline is left, within ``timeout`` seconds."""
        ...
