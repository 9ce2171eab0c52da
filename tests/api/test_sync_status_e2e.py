"""A finished session's sync status follows its NAS copy, seen from a real ``exlab-tray serve``.

The ``done`` frame is sent while the copy is only queued; afterwards the session as
the API shows it (``GET /sessions/{id}``, the list, a late subscriber's ``done``
frame, ``exlab-tray show``) follows the sync job to ``synced``, with the time, the
target and the file count, and says so again after a restart (the journal kept it).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.nas_settings import write_nas_settings
from tray_app.api.client import ApiClient
from tray_app.headless import READY_PREFIX

EXE = [sys.executable, "-m", "tray_app"]


def start_serve() -> subprocess.Popen[str]:
    server = subprocess.Popen([*EXE, "serve"], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    line = server.stdout.readline()
    assert line.startswith(READY_PREFIX), line
    return server


def stop(server: subprocess.Popen[str]) -> None:
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)
    if server.stdout is not None:
        server.stdout.close()


async def done_frame(api: ApiClient, session_id: str) -> dict[str, Any]:
    """The session's ``done`` frame (its stream ends with it)."""
    events = await api.events(session_id)
    try:
        async with asyncio.timeout(60):
            async for frame in events:
                assert frame["kind"] not in ("failed", "aborted"), frame
                if frame["kind"] == "done":
                    return frame
    finally:
        await events.close()
    raise AssertionError("the event stream ended without a done frame")


async def until_synced(api: ApiClient, session_id: str) -> dict[str, Any]:
    """Ask for the session until its result says synced (bounded; each ask is an answer)."""
    async with asyncio.timeout(60):
        while True:
            handle = await api.session(session_id)
            if handle["result"]["sync_status"] == "synced":
                return handle
            assert handle["result"]["sync_status"] in ("queued", "copying"), handle
            await asyncio.sleep(0.1)


@pytest.mark.slow
async def test_a_finished_sessions_sync_status_follows_its_job(tmp_path: Path) -> None:
    nas, local = write_nas_settings(tmp_path)
    target = nas / "DEMO" / "Alpha"

    server = await asyncio.to_thread(start_serve)
    try:
        async with ApiClient.connect() as api:
            handle = await api.create(
                {"kind": "project", "equipment_id": "DEMO", "project_name": "Alpha",
                 "operator": "ana"}
            )  # fmt: skip
            session_id = handle["session_id"]
            done = await done_frame(api, session_id)
            assert done["result"]["sync_status"] in ("queued", "copying", "synced")

            synced = await until_synced(api, session_id)
            sync = synced["result"]["sync"]
            manifest = (target / ".exlab-wizard" / "checksums.sha256").read_text("utf-8")
            assert sync["target"] == str(target) and sync["transport"] == "copy"
            assert sync["synced_at"].endswith("Z")
            assert sync["files"] == len(manifest.splitlines()) > 0  # the files it checked
            assert synced["result"]["path"] == str(local / "DEMO" / "Alpha")

            listed = {h["session_id"]: h for h in await api.sessions()}
            assert listed[session_id]["result"]["sync"] == sync
            # A late subscriber's done frame is built from the session as it is now.
            late = await done_frame(api, session_id)
            assert late["result"]["sync_status"] == "synced" and late["result"]["sync"] == sync
            [job] = (await api.sync())["jobs"]
            assert job["status"] == "synced" and job["files"] == sync["files"]

        shown = await asyncio.to_thread(
            subprocess.run,
            [*EXE, "show", session_id],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert shown.returncode == 0, shown.stderr
        assert "(NAS sync: synced)" in shown.stdout
    finally:
        await asyncio.to_thread(stop, server)

    # After a restart the session (from the journal) still says synced.
    server = await asyncio.to_thread(start_serve)
    try:
        async with ApiClient.connect() as api:
            again = await api.session(session_id)
            assert again["result"]["sync_status"] == "synced"
            assert again["result"]["sync"] == sync
    finally:
        await asyncio.to_thread(stop, server)
