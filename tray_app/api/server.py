"""The local API server: aiohttp on 127.0.0.1 inside the running event loop.

``start()`` refuses to run beside a live instance, binds (a free port by
default), then publishes url, port and token in ``runtime.json`` (0600).
``stop()`` closes event sockets with 1001, stops the server and removes the
file. No Qt here: the tray, ``serve`` and the tests share this class.
Slow and anonymous clients are shed as :mod:`tray_app.api.shedding` says.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web

from tray_app import __version__
from tray_app.api import runtime_file
from tray_app.api.middleware import Guard, body_deadline, error_envelope, guard_middleware
from tray_app.api.routes import ApiRoutes, SessionController
from tray_app.api.runtime_file import RuntimeInfo
from tray_app.api.shedding import ConnectionGate, SheddingRunner, ShedPolicy
from tray_app.sessions import SessionStore

_log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
#: Request bodies are small JSON documents; anything larger is refused (413).
MAX_BODY_BYTES = 64 * 1024


class AnotherInstanceRunning(RuntimeError):
    """A live instance already answers at the address in ``runtime.json``."""

    def __init__(self, info: RuntimeInfo) -> None:
        super().__init__(
            f"Another ExLab Tray is already running (pid {info.pid}, {info.url}); "
            "stop it first or use it."
        )
        self.info = info


class LocalApi:
    """HTTP + WebSocket API bound to one store and (optionally) one controller."""

    def __init__(
        self,
        store: SessionStore,
        controller: SessionController | None = None,
        *,
        port: int = 0,
        activate_callback: Callable[[], None] | None = None,
        heartbeat_interval_s: float = 60.0,
        max_body_bytes: int = MAX_BODY_BYTES,
        publish_runtime: bool = True,
        runtime_path: Path | None = None,
        token: str | None = None,
        shed_policy: ShedPolicy | None = None,
        stall_timeout_s: float = 10.0,
        close_linger_s: float = 5.0,
    ) -> None:
        """``publish_runtime=False`` writes no runtime.json (benchmarks, embedded servers).

        ``stall_timeout_s``: an event socket whose send waits this long is closed
        with 4008; ``close_linger_s``: then how long it may take to read the close.
        """
        self.store = store
        self.gate = ConnectionGate(policy=shed_policy or ShedPolicy())
        self.routes = ApiRoutes(
            store,
            controller,
            activate_callback=activate_callback,
            heartbeat_interval_s=heartbeat_interval_s,
            gate=self.gate,
            stall_timeout_s=stall_timeout_s,
            close_linger_s=close_linger_s,
        )
        self._requested_port = port
        self._max_body_bytes = max_body_bytes
        self._publish_runtime = publish_runtime
        self._runtime_path_setting = runtime_path
        self._guard = Guard(
            token=token or secrets.token_urlsafe(32),
            on_authorised=lambda request: self.gate.prove(request.protocol),
        )
        self._runner: web.AppRunner | None = None
        self._runtime_path: Path | None = None
        self._port: int | None = None

    # ---- facts -----------------------------------------------------------------
    @property
    def token(self) -> str:
        return self._guard.token

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the API is not started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def runtime_path(self) -> Path | None:
        """Where runtime.json was written, or None if it was not."""
        return self._runtime_path

    # ---- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        if self._runner is not None:
            return
        runtime_path = self._resolve_runtime_path()
        if runtime_path is not None:
            await _refuse_if_running(runtime_path)
        counters = self.gate.counters

        def count_slow_body() -> None:
            counters.slow_bodies += 1

        def count_large_body() -> None:
            counters.oversize_requests += 1

        app = web.Application(
            middlewares=[
                error_envelope,
                guard_middleware(self._guard),
                body_deadline(
                    self._max_body_bytes,
                    self.gate.policy.body_timeout_s,
                    on_slow=count_slow_body,
                    on_large=count_large_body,
                ),
            ],
            client_max_size=self._max_body_bytes,
        )
        self.routes.add_to(app)
        runner = SheddingRunner(app, self.gate, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, LOOPBACK, self._requested_port)
            await site.start()
            self._port = _bound_port(runner)
            self._guard.bind_port(self._port)
            if runtime_path is not None:
                info = RuntimeInfo(
                    url=self.url,
                    port=self._port,
                    pid=os.getpid(),
                    token=self.token,
                    version=__version__,
                    started_at=datetime.now(UTC).isoformat(timespec="seconds"),
                )
                await asyncio.to_thread(runtime_file.write_runtime_info, info, runtime_path)
                self._runtime_path = runtime_path
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        _log.info("local API listening at %s", self.url)

    async def stop(self, grace_s: float = 2.0) -> None:
        """Close event sockets (1001), stop serving, remove runtime.json. Idempotent."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        if self._runtime_path is not None:
            runtime_file.remove_runtime_info(self.token, self._runtime_path)
            self._runtime_path = None
        await self.close_event_sockets(grace_s)
        await runner.cleanup()

    async def close_event_sockets(self, grace_s: float = 2.0) -> None:
        """End every event stream; each handler closes its socket with 1001 (bounded wait)."""
        handlers = self.routes.stream_handlers()
        for stream in list(self.routes.streams):
            stream.shut_down()
        if handlers:
            await asyncio.wait(handlers, timeout=grace_s)

    def _resolve_runtime_path(self) -> Path | None:
        if not self._publish_runtime:
            return None
        return self._runtime_path_setting or runtime_file.default_path()


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    raise RuntimeError("the API server did not bind a TCP port")


async def _refuse_if_running(path: Path) -> None:
    """Raise if runtime.json names a live instance that answers /health; else it is stale."""
    info = runtime_file.read_runtime_info(path)
    if info is None or not runtime_file.pid_alive(info.pid):
        return
    if await _answers_health(info):
        raise AnotherInstanceRunning(info)
    _log.info("replacing stale runtime.json (pid %s does not answer)", info.pid)


async def _answers_health(info: RuntimeInfo) -> bool:
    timeout = aiohttp.ClientTimeout(total=1.5)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(f"{info.url}/api/v1/health") as response,
        ):
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return False
