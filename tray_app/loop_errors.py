"""The desktop app's handler of errors nothing caught on the event loop: each is logged
with its traceback, and the operator is told in a notice at most once a minute (a bug
that repeats must not flood the desktop)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from tray_app import paths
from tray_app.i18n import _
from tray_app.rate_limit import RateLimit

__all__ = ["LoopErrors"]

_log = logging.getLogger("tray_app.app")


class LoopErrors:
    """``loop.set_exception_handler(LoopErrors(notice))``; ``clock`` is injected for tests."""

    def __init__(
        self,
        notice: Callable[[str, str], None],
        *,
        clock: Callable[[], float] = time.monotonic,
        quiet_s: float = 60.0,
    ) -> None:
        self._notice = notice
        self._notices = RateLimit(quiet_s, clock=clock)

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exception = context.get("exception")
        message = context.get("message")
        _log.error("event loop: %s", message or "unhandled error", exc_info=exception)
        if self._notices.allow() is None:
            return
        # asyncio's own message (and the exception's) is data: shown as it is.
        detail = f"{type(exception).__name__}: {exception}" if exception else message
        detail = detail or _("unhandled error")
        log = paths.log_dir() / "exlab-tray.log"
        self._notice(
            _("ExLab Tray hit an internal error"),
            detail + "\n" + _("Details are in {path}.").format(path=log),
        )
