"""Client of the local API for the CLI, the self-test and single-instance activation.

It finds the running instance through ``runtime.json`` and speaks HTTP and
WebSocket with its token. Errors come back as :class:`ApiClientError` with
the server's stable code; an unreachable instance is :class:`NoRunningInstance`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
import msgspec

from tray_app.api.errors import ApiError, no_session_words
from tray_app.api.runtime_file import RuntimeInfo, pid_alive, read_runtime_info

API_PREFIX = "/api/v1"


class NoRunningInstance(Exception):
    def __init__(self, detail: str = "") -> None:
        message = "no running ExLab Tray found"
        super().__init__(f"{message} ({detail})" if detail else message)


class ApiClientError(ApiError):
    """The server refused a request, as the client sees it: the server's stable code,
    message, field and details, and the HTTP status."""

    @property
    def fields(self) -> dict[str, str]:
        """Per-field messages of ``invalid_answers``."""
        fields = (self.details or {}).get("fields")
        return fields if isinstance(fields, dict) else {}


def find_running_instance(path: Path | None = None) -> RuntimeInfo | None:
    """The instance named in runtime.json; None when there is none or its pid is dead."""
    info = read_runtime_info(path)
    if info is None or not pid_alive(info.pid):
        return None
    return info


class EventSocket:
    """An open event WebSocket: iterate frames; ``close_code`` once it has ended."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self.close_code: int | None = None

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[dict[str, Any]]:
        failed_pongs = 0
        while True:
            try:
                message = await self._ws.receive()
            except aiohttp.ClientConnectionResetError:
                # aiohttp answers the server's lag-probe ping inside receive(); if the
                # server has closed meanwhile that write fails, but the close frame is
                # still queued: read on (a few times; then the socket is just gone).
                failed_pongs += 1
                if failed_pongs > 3:
                    self.close_code = self._ws.close_code
                    return
                continue
            if message.type is aiohttp.WSMsgType.TEXT:
                yield json.loads(message.data)
                continue
            if message.type is aiohttp.WSMsgType.CLOSE:
                self.close_code = int(message.data)
            else:
                self.close_code = self._ws.close_code
            return

    async def send_heartbeat(self) -> None:
        """Any client message counts as a heartbeat for the socket's session."""
        await self._ws.send_str("heartbeat")

    async def close(self) -> None:
        await self._ws.close()


class ApiClient:
    """Async client bound to one instance; use as ``async with ApiClient.connect() as api``."""

    def __init__(self, info: RuntimeInfo, *, timeout_s: float = 60.0) -> None:
        self.info = info
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, connect=5.0)
        self._http: aiohttp.ClientSession | None = None

    @classmethod
    def connect(cls, path: Path | None = None, *, timeout_s: float = 60.0) -> ApiClient:
        """A client for the running instance; raises NoRunningInstance if there is none."""
        info = find_running_instance(path)
        if info is None:
            raise NoRunningInstance()
        return cls(info, timeout_s=timeout_s)

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {self.info.token}"}, timeout=self._timeout
            )
        return self._http

    def url(self, path: str) -> str:
        return f"{self.info.url}{API_PREFIX}{path}"

    # ---- routes ----------------------------------------------------------------
    async def health(self) -> dict[str, Any]:
        return await self._request("GET", "/health")

    async def create(self, request: dict[str, Any] | msgspec.Struct) -> dict[str, Any]:
        body = msgspec.to_builtins(request) if isinstance(request, msgspec.Struct) else request
        return await self._request("POST", "/sessions", body)

    async def sessions(self, states: Iterable[str] | None = None) -> list[dict[str, Any]]:
        query = f"?state={','.join(states)}" if states else ""
        payload = await self._request("GET", f"/sessions{query}")
        sessions: list[dict[str, Any]] = payload["sessions"]
        return sessions

    async def session(self, session_id: str) -> dict[str, Any]:
        return await self._request("GET", f"/sessions/{session_id}")

    async def resume(self, session_id: str, answers: dict[str, Any]) -> dict[str, Any]:
        return await self._request("POST", f"/sessions/{session_id}/resume", {"answers": answers})

    async def cancel(self, session_id: str, *, discard_files: bool = False) -> dict[str, Any]:
        body = {"discard_files": discard_files}
        return await self._request("POST", f"/sessions/{session_id}/cancel", body)

    async def discard_folder(self, session_id: str) -> dict[str, Any]:
        return await self._request("POST", f"/sessions/{session_id}/discard")

    async def start_again(self, session_id: str) -> dict[str, Any]:
        return await self._request("POST", f"/sessions/{session_id}/start-again")

    async def heartbeat(self, session_id: str) -> None:
        await self._request("POST", f"/sessions/{session_id}/heartbeat")

    async def activate(self) -> None:
        await self._request("POST", "/app/activate")

    async def sync(self) -> dict[str, Any]:
        """``GET /sync``: ``{configured, summary, jobs}``."""
        return await self._request("GET", "/sync")

    async def retry_sync(self, job_id: str) -> dict[str, Any]:
        return await self._request("POST", f"/sync/{job_id}/retry")

    async def requeue_sync(self, ident: str) -> dict[str, Any]:
        return await self._request("POST", "/sync/requeue", {"id": ident})

    async def events(self, session_id: str | None = None) -> EventSocket:
        """Open ``/sessions/{id}/events`` (or ``/events`` for every session)."""
        path = "/events" if session_id is None else f"/sessions/{session_id}/events"
        try:
            ws = await self.http.ws_connect(self.url(path), timeout=aiohttp.ClientWSTimeout())
        except aiohttp.WSServerHandshakeError as refused:
            # The refusal's JSON body is not exposed by aiohttp; name the usual causes.
            if refused.status == 404 and session_id:
                raise ApiClientError(
                    404, "session_not_found", no_session_words(session_id)
                ) from None
            raise ApiClientError(
                refused.status, _code_for(refused.status), f"HTTP {refused.status}"
            ) from None
        except aiohttp.ClientConnectionError as error:
            raise NoRunningInstance(str(error)) from None
        return EventSocket(ws)

    async def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        try:
            async with self.http.request(method, self.url(path), json=body) as response:
                raw = await response.read()
                status = response.status
        except aiohttp.ClientConnectionError as error:
            raise NoRunningInstance(str(error)) from None
        return _parse(status, raw)


def _parse(status: int, raw: bytes) -> dict[str, Any]:
    if status == 204 or not raw:
        if status >= 400:
            raise ApiClientError(status, _code_for(status), f"HTTP {status}")
        return {}
    try:
        payload = json.loads(raw)
    except ValueError:
        raise ApiClientError(status, "bad_response", f"HTTP {status}: not JSON") from None
    if status >= 400:
        error = payload.get("error", {}) if isinstance(payload, dict) else {}
        raise ApiClientError(
            status,
            str(error.get("code", _code_for(status))),
            str(error.get("message", f"HTTP {status}")),
            field=error.get("field"),
            details=error.get("details"),
        )
    if not isinstance(payload, dict):
        raise ApiClientError(status, "bad_response", "expected a JSON object")
    return payload


def _code_for(status: int) -> str:
    return {401: "unauthorized", 403: "forbidden_host", 404: "not_found"}.get(status, "http_error")


def activate_running_instance(path: Path | None = None, timeout_s: float = 2.0) -> bool:
    """Ask a running tray to show its sessions window (blocking; for single-instance start).

    True if an instance answered; a headless instance answers ``not_supported``
    and still counts, since it is running.
    """
    info = find_running_instance(path)
    if info is None:
        return False
    request = urllib.request.Request(
        f"{info.url}{API_PREFIX}/app/activate",
        data=b"",
        method="POST",
        headers={"Authorization": f"Bearer {info.token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return bool(200 <= response.status < 300)
    except urllib.error.HTTPError as error:
        return error.code == 409
    except (urllib.error.URLError, OSError):
        return False
