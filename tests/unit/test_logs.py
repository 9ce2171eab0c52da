"""The log for IT: a shared rotating file at the settings' level, and bounded per-session
plugin logs."""

from __future__ import annotations

import logging
import logging.handlers
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tray_app import logs, paths

AT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def clean_root() -> Iterator[logging.Logger]:
    """The root logger without ExLab's handlers, restored afterwards."""
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    for handler in saved:
        if getattr(handler, "_exlab", None):
            root.removeHandler(handler)
    yield root
    for handler in list(root.handlers):
        if getattr(handler, "_exlab", None):
            root.removeHandler(handler)
            handler.close()
    for handler in saved:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


def ours(root: logging.Logger, kind: str) -> logging.Handler:
    (handler,) = [h for h in root.handlers if getattr(h, "_exlab", None) == kind]
    return handler


def test_the_log_rotates_at_ten_mib_keeping_five_and_follows_the_level(
    clean_root: logging.Logger,
) -> None:
    logs.setup_logging("warning")
    to_file = ours(clean_root, "file")
    assert isinstance(to_file, logging.handlers.RotatingFileHandler)
    assert to_file.maxBytes == 10 * 1024 * 1024 and to_file.backupCount == 5
    assert Path(to_file.baseFilename) == paths.log_dir() / "exlab-tray.log"
    assert to_file.level == logging.WARNING
    assert ours(clean_root, "stderr").level == logging.WARNING

    log = logging.getLogger("tray_app.test")
    log.info("not at warning level")
    log.warning("written at warning level")
    logs.set_level("debug")  # the settings say debug
    assert to_file.level == logging.DEBUG and clean_root.level == logging.DEBUG
    assert ours(clean_root, "stderr").level == logging.WARNING  # stderr stays quiet
    log.debug("written at debug level")
    to_file.flush()
    text = logs.log_file().read_text()
    assert "written at warning level" in text and "written at debug level" in text
    assert "not at warning level" not in text

    # A second setup does not add handlers; a rollover keeps the old file as .1.
    logs.setup_logging("info")
    assert len([h for h in clean_root.handlers if getattr(h, "_exlab", None)]) == 2
    assert isinstance(to_file, logging.handlers.RotatingFileHandler)
    to_file.doRollover()
    log.info("after the rollover")
    assert logs.log_files() == [logs.log_file(), logs.log_file().with_name("exlab-tray.log.1")]


def test_a_plugin_log_stays_under_its_bound_keeping_the_newest_calls() -> None:
    for call in range(1, 40):
        path = logs.append_plugin_log(
            "s-1",
            plugin="chatty",
            attempt=call,
            status="ok",
            duration_s=0.5,
            stderr=f"line of call {call}\n" * 5,
            at=AT,
            max_bytes=2000,
        )
    text = path.read_text()
    assert path.stat().st_size <= 2000
    assert text.startswith("[… earlier output removed")
    assert "plugin chatty call 39: ok after 0.50 s" in text
    assert "line of call 39" in text and "call 1:" not in text
    # Every line after the mark is whole.
    for line in text.splitlines()[1:]:
        assert line.startswith(("===", "line of call")), line


def test_one_huge_call_is_cut_to_its_end_and_a_silent_call_says_so() -> None:
    path = logs.append_plugin_log(
        "s-2", plugin="p", attempt=1, status="crashed", duration_s=1,
        stderr="x" * 5000 + "\nTraceback: the end\n", at=AT, max_bytes=2000,
    )  # fmt: skip
    assert path.stat().st_size <= 2000
    assert path.read_text().rstrip().endswith("Traceback: the end")
    quiet = logs.append_plugin_log(
        "s-3", plugin="p", attempt=1, status="ok", duration_s=0, stderr="", at=AT
    )
    assert "(no output on stderr)" in quiet.read_text()


def test_only_the_newest_sessions_keep_a_plugin_log() -> None:
    written = []
    for index in range(5):
        path = logs.append_plugin_log(
            f"s-{index}", plugin="p", attempt=1, status="ok", duration_s=0, stderr="hi",
            at=AT, keep=3,
        )  # fmt: skip
        # Distinct modification times, oldest first, whatever the file system's resolution.
        stamp = time.time() - 100 + index
        os.utime(path, (stamp, stamp))
        written.append(path)
    assert sorted(p.name for p in logs.plugin_log_dir().glob("*.log")) == [
        "s-2.log",
        "s-3.log",
        "s-4.log",
    ]


def test_a_session_id_cannot_name_a_file_outside_the_folder() -> None:
    with pytest.raises(ValueError):
        logs.plugin_log_path("../../etc/passwd")
