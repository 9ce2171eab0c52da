"""``exlab-tray report``: the support report from a terminal (IT over ssh, or a tray that
does not start). Works without a running instance; with one, its sessions and sync jobs
are asked for over the local API.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tray_app.i18n import N_, _
from tray_app.support_report import ReportInputs, default_report_name, write_report

if TYPE_CHECKING:
    from tray_app.config import LoadedSettings

EXIT_OK = 0
EXIT_FAILED = 1
_ASK_TIMEOUT_S = 5.0


def qt_versions() -> dict[str, str]:
    """The installed Qt, if any (QtCore loads without a display)."""
    try:
        import PySide6
        from PySide6.QtCore import qVersion
    except ImportError:
        return {}
    return {"qt": qVersion(), "pyside6": PySide6.__version__}


@dataclass(frozen=True, slots=True)
class Unasked:
    """Why the running instance's sessions are not in the report: none runs, or it did
    not answer (``error`` says how). Said in English for the report's summary (like the
    log it sits beside), in the terminal's language by :meth:`words`."""

    #: None: no instance runs; else how asking the running one failed.
    error: str | None = None

    def english(self) -> str:
        return self._said(str)

    def words(self) -> str:
        return self._said(_)

    def _said(self, translate: Callable[[str], str]) -> str:
        if self.error is None:
            return translate(_NO_INSTANCE)
        return translate(_NO_ANSWER).format(error=self.error)


_NO_INSTANCE = N_("no running ExLab Tray to ask")
_NO_ANSWER = N_("the running ExLab Tray did not answer: {error}")


async def ask_running_instance() -> tuple[
    list[dict[str, Any]] | None, list[Any] | None, Unasked | None
]:
    """(sessions, sync jobs, why not) from the running instance; None where it cannot say."""
    from tray_app.api.client import ApiClient, ApiClientError, NoRunningInstance

    try:
        async with ApiClient.connect(timeout_s=_ASK_TIMEOUT_S) as client:
            sessions = await client.sessions()
            jobs: list[Any] | None = None
            try:
                payload = await client.sync()
                found = payload.get("jobs")
                jobs = found if isinstance(found, list) else None
            except ApiClientError:
                jobs = None
            return sessions, jobs, None
    except NoRunningInstance:
        return None, None, Unasked()
    except (ApiClientError, TimeoutError, OSError) as error:
        return None, None, Unasked(error=str(error) or type(error).__name__)


def run_report(
    output: Path | None, *, as_json: bool = False, loaded: LoadedSettings | None = None
) -> int:
    """Write the report (``loaded``: the settings the command line read already)."""
    from tray_app.config import settings_in_use

    loaded = settings_in_use(loaded)
    sessions, jobs, unasked = asyncio.run(ask_running_instance())
    target = output or Path.cwd() / default_report_name()
    if target.is_dir():
        target = target / default_report_name()
    inputs = ReportInputs.for_settings(
        loaded,
        made_by="exlab-tray report",
        sessions=sessions,
        sessions_note=unasked.english() if unasked else "",
        sync_jobs=jobs,
        qt=qt_versions(),
    )
    try:
        written = write_report(target, inputs)
    except OSError as error:
        reason = error.strerror or str(error)
        words = _("exlab-tray: cannot write the report to {path}: {reason}")
        print(words.format(path=target, reason=reason), file=sys.stderr)
        return EXIT_FAILED
    if as_json:
        print(json.dumps({"path": str(written), "sessions_included": sessions is not None}))
    else:
        print(_("Report for support written to {path}").format(path=written))
        if unasked:
            print(_("(sessions not included: {reason})").format(reason=unasked.words()))
    return EXIT_OK
