"""runtime.json: written after bind, mode 0600, removed on stop, stale replaced, live refused."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tray_app import __version__, paths
from tray_app.api.runtime_file import (
    RuntimeInfo,
    pid_alive,
    read_runtime_info,
    write_runtime_info,
)
from tray_app.api.server import AnotherInstanceRunning, LocalApi
from tray_app.sessions import SessionStore

from .conftest import Api


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


async def test_runtime_file_names_the_bound_server_and_is_owner_only(make_api: Any) -> None:
    api: Api = await make_api()
    path = paths.runtime_file_path()
    info = read_runtime_info(path)
    assert info is not None
    assert (info.url, info.port, info.token) == (api.api.url, api.api.port, api.api.token)
    assert info.pid == os.getpid()
    assert info.version == __version__
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o600
    # Readable only once the socket listens: the URL in it answers right away.
    async with aiohttp.ClientSession() as anonymous:
        response = await anonymous.get(f"{info.url}/api/v1/health")
        assert response.status == 200
    await api.api.stop()
    assert not path.exists()
    await api.api.stop()  # idempotent


async def test_no_runtime_file_when_the_port_cannot_be_bound() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        api = LocalApi(SessionStore(), port=port)
        with pytest.raises(OSError):
            await api.start()
    assert not paths.runtime_file_path().exists()
    assert not api.running


async def test_a_stale_runtime_file_is_replaced(make_api: Any) -> None:
    path = paths.runtime_file_path()
    stale = RuntimeInfo(
        url="http://127.0.0.1:9", port=9, pid=dead_pid(), token="old", version="0", started_at=""
    )
    write_runtime_info(stale, path)
    assert not pid_alive(stale.pid)
    api: Api = await make_api()
    info = read_runtime_info(path)
    assert info is not None and info.token == api.api.token


async def test_a_live_pid_that_does_not_answer_is_stale_too(make_api: Any) -> None:
    # Our own pid is alive, but nothing listens at port 9: a reused pid.
    path = paths.runtime_file_path()
    write_runtime_info(
        RuntimeInfo(url="http://127.0.0.1:9", port=9, pid=os.getpid(), token="x", version="0",
                    started_at=""),
        path,
    )  # fmt: skip
    api: Api = await make_api()
    info = read_runtime_info(path)
    assert info is not None and info.token == api.api.token


async def test_a_second_instance_refuses_to_start_beside_a_live_one(make_api: Any) -> None:
    first: Api = await make_api()
    second = LocalApi(SessionStore())
    with pytest.raises(AnotherInstanceRunning, match="already running"):
        await second.start()
    assert not second.running
    info = read_runtime_info(paths.runtime_file_path())
    assert info is not None and info.token == first.api.token  # untouched


async def test_stop_leaves_a_file_another_instance_wrote(tmp_path: Path) -> None:
    path = tmp_path / "runtime.json"
    api = LocalApi(SessionStore(), runtime_path=path)
    await api.start()
    other = RuntimeInfo(url="u", port=1, pid=1, token="someone-else", version="0", started_at="")
    write_runtime_info(other, path)
    await api.stop()
    info = read_runtime_info(path)
    assert info is not None and info.token == "someone-else"


def test_malformed_runtime_file_reads_as_none(tmp_path: Path) -> None:
    path = tmp_path / "runtime.json"
    path.write_text("{half", encoding="utf-8")
    assert read_runtime_info(path) is None
    assert read_runtime_info(tmp_path / "missing.json") is None
