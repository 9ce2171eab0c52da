"""``exlab-tray report``: the support report from a terminal (IT over ssh, or a tray that
does not start). Works without a running instance; with one, its sessions and sync jobs
are asked for over the local API.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from tray_app.i18n import _
from tray_app.support_report import ReportInputs, default_report_name, write_report

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


async def ask_running_instance() -> tuple[list[dict[str, Any]] | None, list[Any] | None, str]:
    """(sessions, sync jobs, note) from the running instance; None where it cannot say.

    The note goes into the report's summary (English, like the log it sits beside);
    :func:`note_words` says it on the terminal.
    """
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
            return sessions, jobs, ""
    except NoRunningInstance:
        return None, None, NO_INSTANCE_NOTE
    except (ApiClientError, TimeoutError, OSError) as error:
        return None, None, f"{NO_ANSWER_NOTE}: {error}"


NO_INSTANCE_NOTE = "no running ExLab Tray to ask"
NO_ANSWER_NOTE = "the running ExLab Tray did not answer"


def note_words(note: str) -> str:
    """The report's note in the terminal's language."""
    if note == NO_INSTANCE_NOTE:
        return _("no running ExLab Tray to ask")
    if note.startswith(NO_ANSWER_NOTE):
        detail = note.removeprefix(NO_ANSWER_NOTE).lstrip(": ")
        return _("the running ExLab Tray did not answer: {error}").format(error=detail)
    return note


def run_report(output: Path | None, *, as_json: bool = False) -> int:
    from tray_app.config import load_settings

    loaded = load_settings()
    sessions, jobs, note = asyncio.run(ask_running_instance())
    target = output or Path.cwd() / default_report_name()
    if target.is_dir():
        target = target / default_report_name()
    inputs = ReportInputs.for_settings(
        loaded,
        made_by="exlab-tray report",
        sessions=sessions,
        sessions_note=note,
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
        if note:
            print(_("(sessions not included: {reason})").format(reason=note_words(note)))
    return EXIT_OK
