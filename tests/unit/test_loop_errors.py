"""The desktop app's handler of uncaught loop errors: every error is logged, the operator
is told at most once per quiet window (the clock is injected: no sleeping)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tray_app.loop_errors import LoopErrors


def test_each_error_is_logged_and_told_at_most_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [1000.0]
    told: list[tuple[str, str]] = []
    handler = LoopErrors(lambda summary, body: told.append((summary, body)), clock=lambda: now[0])
    loop = asyncio.new_event_loop()
    try:
        with caplog.at_level(logging.ERROR, logger="tray_app.app"):
            handler(loop, {"message": "task failed", "exception": KeyError("job-7")})
            now[0] += 59.0
            handler(loop, {"message": "again"})
            now[0] += 1.0
            handler(loop, {"message": "callback broke"})
    finally:
        loop.close()
    assert [r.getMessage() for r in caplog.records if r.name == "tray_app.app"] == [
        "event loop: task failed",
        "event loop: again",
        "event loop: callback broke",
    ]
    assert [summary for summary, _ in told] == ["ExLab Tray hit an internal error"] * 2
    assert told[0][1].startswith("KeyError: 'job-7'\nDetails are in ")
    assert told[1][1].startswith("callback broke\n")
