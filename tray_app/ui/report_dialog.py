""" "Save a report for support…": ask where (a non-blocking save dialog), gather what the
tray knows (sessions, sync jobs, settings, Qt's version) and write the zip in a thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import PySide6
from PySide6.QtCore import QStandardPaths, qVersion
from PySide6.QtWidgets import QFileDialog, QWidget

from tray_app.i18n import _
from tray_app.sessions.session import to_handle
from tray_app.sessions.store import SessionStore
from tray_app.support_report import ReportInputs, default_report_name, write_report
from tray_app.ui.async_bridge import error_message, run_async

_log = logging.getLogger(__name__)

Notice = Callable[[str, str], None]


def qt_versions() -> dict[str, str]:
    return {"qt": qVersion(), "pyside6": PySide6.__version__}


def tray_report_inputs(store: SessionStore, controller: Any, loaded: Any) -> ReportInputs:
    """Everything the running tray knows, as plain data (cheap: no disk)."""
    queue = getattr(controller, "sync_queue", None)
    jobs = msgspec.to_builtins(queue.jobs()) if queue is not None else None
    return ReportInputs.for_settings(
        loaded,
        made_by="tray",
        sessions=msgspec.to_builtins([to_handle(s) for s in store.sessions()]),
        sync_jobs=jobs,
        qt=qt_versions(),
        now=store.clock(),
    )


def save_report(path: Path, inputs: ReportInputs, on_done: Notice) -> asyncio.Task[Path]:
    """Write the report to ``path`` off the loop; ``on_done(summary, body)`` says how it went."""

    def saved(written: Path) -> None:
        _log.info("support report written to %s", written)
        on_done(
            _("Report for support saved"),
            _("{path}\nSend this file to your IT support.").format(path=written),
        )

    def failed(error: BaseException) -> None:
        words = str(error) if isinstance(error, OSError) and error.strerror else None
        on_done(_("The report could not be saved"), words or error_message(error))

    return run_async(
        asyncio.to_thread(write_report, path, inputs),
        on_result=saved,
        on_error=failed,
        what="writing the support report",
    )


def ask_and_save_report(
    store: SessionStore,
    controller: Any,
    loaded: Any,
    *,
    on_done: Notice,
    parent: QWidget | None = None,
) -> QFileDialog:
    """Open the save dialog (it does not block the loop); saving starts when a file is chosen."""
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    start = Path(folder or Path.home()) / default_report_name(store.clock())
    dialog = QFileDialog(parent, _("Save a report for support"), str(start))
    dialog.setObjectName("report_dialog")
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    dialog.setNameFilter(_("Zip archives (*.zip)"))
    dialog.setDefaultSuffix("zip")
    dialog.selectFile(str(start))

    def chosen(name: str) -> None:
        inputs = tray_report_inputs(store, controller, loaded)
        save_report(Path(name), inputs, on_done)

    dialog.fileSelected.connect(chosen)
    dialog.open()
    return dialog
