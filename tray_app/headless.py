"""``exlab-tray serve``: the store, the pipeline, the GC and the local API on plain asyncio.

For machines with no desktop, and for tests. Never imports Qt. Logs go to
the tray's log file and to stderr; stdout gets one line, ``ExLab Tray API ready at <url>``, once the
API answers. SIGTERM or SIGINT stop it gracefully (exit 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from typing import TYPE_CHECKING

from tray_app.stop_signals import on_stop_signals

if TYPE_CHECKING:
    from tray_app.config import LoadedSettings

READY_PREFIX = "ExLab Tray API ready at "
#: A graceful stop never takes longer than this.
STOP_TIMEOUT_S = 5.0

_log = logging.getLogger("tray_app.headless")


def serve(
    *, port: int = 0, log_level: str | None = None, loaded: LoadedSettings | None = None
) -> int:
    """Run until a signal; the exit status (0 after a clean stop, 1 if it cannot start).

    Logs go to the tray's log file and to stderr, at ``log_level`` (default: the
    ``log_level`` setting). ``loaded``: the settings the command line read already.
    """
    from tray_app import i18n, logs
    from tray_app.config import settings_in_use

    # Logging first: each settings problem is logged.
    logs.setup_logging(log_level or "info", stderr_level=log_level or "info")
    loaded = settings_in_use(loaded)
    # The loader has logged them (to stderr and the log file); the rest of each file applies.
    if log_level is None:
        level = loaded.settings.log_level
        logs.setup_logging(level, stderr_level=level)
    # The words serve puts on the wire for people (error messages, titles) in its language.
    i18n.install(loaded.settings.language)
    try:
        return asyncio.run(_serve(loaded, port))
    except KeyboardInterrupt:  # a second Ctrl-C during the stop
        return 130


async def _serve(loaded: LoadedSettings, port: int) -> int:
    from tray_app.api.server import AnotherInstanceRunning
    from tray_app.api.service import ExlabService

    service = ExlabService(loaded, port=port)
    try:
        await service.start()
    except AnotherInstanceRunning as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        reason = error.strerror or error
        print(f"error: cannot listen on 127.0.0.1:{port}: {reason}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    on_stop_signals(asyncio.get_running_loop(), lambda _signum: stop.set())
    print(f"{READY_PREFIX}{service.url}", flush=True)
    gc = asyncio.create_task(service.store.gc_loop(loaded.settings.gc_interval_s), name="exlab-gc")
    try:
        await stop.wait()
    finally:
        _log.info("stopping")
        gc.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await gc
        await service.stop(STOP_TIMEOUT_S - 0.5)
    _log.info("stopped")
    return 0
