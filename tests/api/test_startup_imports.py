"""What ``serve`` and the tray load before they are up: the costly parts that wait for first
use stay out (the NAS sync queue and its transports, babel, the OpenAPI document, the
support report, Copier's YAML). Each probe runs in a fresh interpreter: pytest's own
plugins may have imported any of them into this one."""

from __future__ import annotations

from pathlib import Path

from tests.support.fresh_python import probe

#: Loaded on first use only (a NAS copy, the catalog tools, /openapi.json, a report, a render).
DEFERRED = [
    "tray_app.creation.sync.queue",
    "tray_app.creation.sync.attempt",
    "tray_app.creation.sync.transport_copy",
    "tray_app.creation.sync.transport_tools",
    "tray_app.creation.sync.transport_rsync",
    "tray_app.creation.sync.transport_rclone",
    "tray_app.creation.sync.local_target",
    "tray_app.creation.sync.read_back",
    "tray_app.creation.sync.network",
    "babel",
    "tray_app.api.openapi",
    "tray_app.support_report",
    "yaml",
    "copier",
]

SERVE_PROBE = """
import asyncio, json, sys
import aiohttp
from tray_app.api.service import ExlabService
from tray_app.config import load_settings

async def main():
    # What `serve` builds, without the background warm-up it starts after the bind.
    service = ExlabService(load_settings(), prewarm=False)
    await service.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{service.url}/api/v1/health") as response:
                status = response.status
    finally:
        await service.stop()
    print(json.dumps({"health": status, "loaded": [m for m in DEFERRED if m in sys.modules]}))

asyncio.run(main())
"""

TRAY_PROBE = """
import json, sys
import tray_app.desktop_app
print(json.dumps({"loaded": [m for m in DEFERRED if m in sys.modules]}))
"""


def _probe(code: str, home: Path) -> dict[str, object]:
    found: dict[str, object] = probe(f"DEFERRED = {DEFERRED!r}\n{code}", EXLAB_TRAY_HOME=str(home))
    return found


def test_serve_answers_health_before_loading_what_waits_for_first_use(tmp_path: Path) -> None:
    found = _probe(SERVE_PROBE, tmp_path)
    assert found["health"] == 200
    assert found["loaded"] == []


def test_the_tray_modules_leave_the_sync_queue_and_tools_for_first_use(tmp_path: Path) -> None:
    assert _probe(TRAY_PROBE, tmp_path)["loaded"] == []


ENTRY_PROBE = """
import json, sys
from tray_app.__main__ import main
try:
    main(["--help"])  # the tray's and the commands' path through the entry point
except SystemExit:
    pass
import tray_app.desktop_app, tray_app.api.service
print(json.dumps({"ssl_modules": [m for m in ("ssl", "_ssl") if sys.modules.get(m)]}))
"""


def test_the_entry_point_runs_the_tray_and_commands_without_ssl(tmp_path: Path) -> None:
    # Nothing there speaks TLS (tray_app.no_tls); asyncio, urllib and aiohttp import it if
    # they can, and it maps libssl and _ssl into the idle tray.
    assert _probe(ENTRY_PROBE, tmp_path)["ssl_modules"] == []


def test_the_sync_queue_still_loads_on_first_use(tmp_path: Path) -> None:
    # The lazy names of tray_app.creation.sync resolve to the real queue.
    code = (
        "from tray_app.creation.sync import DB_NAME, SyncQueue\n"
        "from tray_app.creation.sync import queue\n"
        "assert SyncQueue is queue.SyncQueue and DB_NAME == queue.DB_NAME\n"
        "print('{\"loaded\": []}')\n"
    )
    assert _probe(code, tmp_path)["loaded"] == []
