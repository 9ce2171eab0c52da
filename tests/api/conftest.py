"""Fixtures for API tests: a real LocalApi on loopback, a fake clock, a real aiohttp client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from tests.support.clock import FakeClock
from tray_app.api.server import LocalApi
from tray_app.api.service import ExlabService
from tray_app.config import load_settings
from tray_app.sessions import SessionStore

#: The API tests' clock starts here (their expected handles and frames name this moment).
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass
class Api:
    """A running server plus an authorised client session."""

    api: LocalApi
    store: SessionStore
    http: aiohttp.ClientSession

    @property
    def base(self) -> str:
        return f"{self.api.url}/api/v1"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api.token}"}

    def ws(self, path: str, **kwargs: Any) -> Any:
        headers = {**self.auth, **kwargs.pop("headers", {})}
        return self.http.ws_connect(f"{self.base}{path}", headers=headers, **kwargs)


async def wait_until(condition: Callable[[], bool], limit_s: float = 5.0) -> None:
    """Await a condition that another task or socket makes true (bounded poll, no fixed sleep)."""
    async with asyncio.timeout(limit_s):
        while not condition():  # noqa: ASYNC110 - the condition has no event of its own
            await asyncio.sleep(0.005)


async def receive_json(ws: aiohttp.ClientWebSocketResponse, limit_s: float = 5.0) -> Any:
    message = await ws.receive(timeout=limit_s)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    return message.json()


@pytest.fixture
def clock_start() -> datetime:
    return START


@pytest.fixture
async def make_api(clock: FakeClock) -> AsyncIterator[Callable[..., Awaitable[Api]]]:
    """Start LocalApi servers (stopped at teardown); kwargs go to SessionStore / LocalApi."""
    started: list[Api] = []

    async def start(
        *,
        store: SessionStore | None = None,
        controller: Any = None,
        store_kwargs: dict[str, Any] | None = None,
        **api_kwargs: Any,
    ) -> Api:
        store = store or SessionStore(clock=clock, **(store_kwargs or {}))
        api = LocalApi(store, controller, **api_kwargs)
        await api.start()
        http = aiohttp.ClientSession(headers={"Authorization": f"Bearer {api.token}"})
        handle = Api(api, store, http)
        started.append(handle)
        return handle

    yield start
    for handle in started:
        await handle.http.close()
        await handle.api.stop()


@pytest.fixture
async def service() -> AsyncIterator[ExlabService]:
    """A started service (API bound, runtime file written) on the default settings."""
    service = ExlabService(load_settings())
    await service.start()
    yield service
    await service.stop()
