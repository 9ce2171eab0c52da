"""The ``/api/v1`` routes of DESIGN §5: thin handlers over the store and the controller.

Which handler answers which method and path is the table in
:mod:`tray_app.api.contract`; every body leaves through its wire type.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from typing import Any, Literal

from aiohttp import web

from tray_app import __version__
from tray_app.api import errors
from tray_app.api.contract import OPERATIONS, PREFIX
from tray_app.api.errors import ApiError, session_not_found
from tray_app.api.events import EventStream
from tray_app.api.middleware import json_response, typed_response
from tray_app.api.schemas import (
    CancelBody,
    CreateRequest,
    Health,
    HealthComponents,
    HealthJournal,
    HealthSessions,
    ResumeBody,
    SessionHandle,
    SessionList,
    decode_body,
)
from tray_app.api.shedding import ConnectionGate
from tray_app.api.sync_routes import SyncRoutes
from tray_app.api.sync_schemas import health_sync
from tray_app.api.wire import FrameEncoder
from tray_app.creation.seam import CreationSeam
from tray_app.rate_limit import RateLimit
from tray_app.sessions import SessionState, SessionStore, to_handle

__all__ = ["PREFIX", "ApiRoutes", "SessionController"]

_log = logging.getLogger(__name__)

#: What the API needs of the controller: the seam the dialogs use too.
SessionController = CreationSeam


class ApiRoutes(SyncRoutes):
    """Handlers bound to one store and controller; also tracks open event sockets."""

    def __init__(
        self,
        store: SessionStore,
        controller: SessionController | None,
        *,
        activate_callback: Callable[[], None] | None = None,
        heartbeat_interval_s: float = 60.0,
        gate: ConnectionGate | None = None,
        stall_timeout_s: float = 10.0,
        close_linger_s: float = 5.0,
    ) -> None:
        self.store = store
        self.controller = controller
        self.activate_callback = activate_callback
        self.heartbeat_interval_s = heartbeat_interval_s
        self.gate = gate or ConnectionGate()
        self._stall_timeout_s = stall_timeout_s
        self._close_linger_s = close_linger_s
        self._document: bytes | None = None
        #: Open event sockets and the handler task serving each.
        self.streams: dict[EventStream, asyncio.Task[object] | None] = {}
        self._encoder = FrameEncoder()
        #: The 4008 warning, at most one line a minute: a crowd of stalled clients shed
        #: together would otherwise write a line each, on the loop.
        self._slow_lines = RateLimit(60.0)
        self._started = time.monotonic()
        # The /events snapshot, shared by every subscriber until the next change: a
        # crowd reconnecting at once (clients shed for reading too slowly) would
        # otherwise build and encode every handle once each, on the loop.
        self._snapshot: dict[str, Any] | None = None
        store.add_observer(self._forget_snapshot)
        #: The session journal's part of /health (set by the service that has one).
        self.journal_health: Callable[[], HealthJournal] | None = None

    def add_to(self, app: web.Application) -> None:
        """Register every operation of the contract table (and only those)."""
        for op in OPERATIONS:
            app.router.add_route(op.method, op.full_path, getattr(self, op.handler))

    # ---- HTTP ----------------------------------------------------------------
    async def health(self, request: web.Request) -> web.Response:
        store = self.store
        controller = self.controller
        pipeline: Literal["ok", "shutting_down", "unavailable"] = "unavailable"
        if controller is not None:
            pipeline = "ok" if controller.accepting else "shutting_down"
        return json_response(
            Health(
                status="ok",
                version=__version__,
                pid=os.getpid(),
                uptime_s=round(time.monotonic() - self._started, 3),
                sessions=HealthSessions(
                    total=len(store),
                    live=store.live_count,
                    waiting=store.waiting_count,
                    finished=store.finished_count,
                ),
                components=HealthComponents(
                    store="ok", controller=pipeline, api="ok", event_sockets=len(self.streams)
                ),
                connections=self.gate.snapshot(),
                shed=self.gate.counters.snapshot(),
                sync=health_sync(controller.sync_summary()) if controller is not None else None,
                journal=(
                    HealthJournal(status="off")
                    if self.journal_health is None
                    else self.journal_health()
                ),
            )
        )

    async def openapi(self, request: web.Request) -> web.Response:
        if self._document is None:  # built on first use: serve's start-up does not pay for it
            from tray_app.api.openapi import build_document
            from tray_app.api.wire import encode

            self._document = encode(build_document(__version__))
        return web.Response(body=self._document, content_type="application/json")

    async def create_session(self, request: web.Request) -> web.Response:
        body: CreateRequest = decode_body(await request.read(), CreateRequest)
        handle = await self._call(lambda controller: controller.create(body))
        return typed_response(handle, SessionHandle, status=201)

    async def list_sessions(self, request: web.Request) -> web.Response:
        states = _parse_states(request.query.getall("state", []))
        handles = [to_handle(s) for s in self.store.sessions(states)]
        return typed_response({"sessions": handles}, SessionList)

    async def get_session(self, request: web.Request) -> web.Response:
        session_id = request.match_info["session_id"]
        session = self.store.get(session_id)
        if session is None:
            raise session_not_found(session_id)
        return typed_response(to_handle(session), SessionHandle)

    async def resume_session(self, request: web.Request) -> web.Response:
        session_id = request.match_info["session_id"]
        body: ResumeBody = decode_body(await request.read(), ResumeBody)
        handle = await self._call(lambda controller: controller.resume(session_id, body.answers))
        return typed_response(handle, SessionHandle)

    async def cancel_session(self, request: web.Request) -> web.Response:
        session_id = request.match_info["session_id"]
        body: CancelBody = decode_body(await request.read(), CancelBody, optional=True)
        handle = await self._call(
            lambda controller: controller.cancel(session_id, discard_files=body.discard_files)
        )
        return typed_response(handle, SessionHandle)

    async def discard_folder(self, request: web.Request) -> web.Response:
        session_id = request.match_info["session_id"]
        handle = await self._call(lambda controller: controller.discard_folder(session_id))
        return typed_response(handle, SessionHandle)

    async def start_again(self, request: web.Request) -> web.Response:
        session_id = request.match_info["session_id"]
        handle = await self._call(lambda controller: controller.start_again(session_id))
        return typed_response(handle, SessionHandle, status=201)

    async def heartbeat(self, request: web.Request) -> web.Response:
        session_id = request.match_info["session_id"]
        if session_id not in self.store:
            raise session_not_found(session_id)
        self.store.heartbeat(session_id)
        return web.Response(status=204)

    async def activate(self, request: web.Request) -> web.Response:
        if self.activate_callback is None:
            raise ApiError(
                409, errors.NOT_SUPPORTED, "This instance runs headless; it has no window to show."
            )
        self.activate_callback()
        return web.Response(status=204)

    # ---- WebSocket -----------------------------------------------------------
    async def session_events(self, request: web.Request) -> web.StreamResponse:
        session_id = request.match_info["session_id"]
        if session_id not in self.store:
            raise session_not_found(session_id)
        _require_upgrade(request)
        store = self.store
        stream = self._stream(
            store.subscribe(session_id),
            heartbeat=lambda: store.heartbeat(session_id),
            heartbeat_interval_s=self.heartbeat_interval_s,
        )
        return await self._serve(stream, request)

    async def all_events(self, request: web.Request) -> web.StreamResponse:
        _require_upgrade(request)
        if self._snapshot is None:
            self._snapshot = self.store.snapshot_all()
        return await self._serve(self._stream(self.store.subscribe_all(self._snapshot)), request)

    def _forget_snapshot(self, _session: object, _change: object) -> None:
        self._snapshot = None

    def _stream(self, subscription: Any, **kwargs: Any) -> EventStream:
        counters = self.gate.counters
        slow_lines = self._slow_lines

        def count_slow(path: str) -> None:
            counters.slow_event_sockets += 1  # /health counts them all
            held = slow_lines.allow()
            if held:
                _log.warning(
                    "closing slow WebSocket client of %s (4008); %d more since the last such line",
                    path,
                    held,
                )
            elif held == 0:
                _log.warning("closing slow WebSocket client of %s (4008)", path)

        return EventStream(
            subscription,
            self._encoder,
            stall_timeout_s=self._stall_timeout_s,
            close_linger_s=self._close_linger_s,
            on_slow=count_slow,
            **kwargs,
        )

    async def _serve(self, stream: EventStream, request: web.Request) -> web.StreamResponse:
        self.streams[stream] = asyncio.current_task()
        try:
            return await stream.serve(request)
        finally:
            del self.streams[stream]

    def stream_handlers(self) -> set[asyncio.Task[object]]:
        return {task for task in self.streams.values() if task is not None}

    # ---- helpers ---------------------------------------------------------------
    async def _call(self, action: Callable[[SessionController], Any]) -> dict[str, Any]:
        """Run a controller action; its CreationErrors reach the error middleware as they are."""
        controller = self.controller
        if controller is None:
            raise ApiError(
                503, errors.PIPELINE_UNAVAILABLE, "The creation pipeline is not available here."
            )
        result: dict[str, Any] = await action(controller)
        return result


def _require_upgrade(request: web.Request) -> None:
    """A plain GET of an event stream is told to come back as a WebSocket (426)."""
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise ApiError(
            426,
            errors.UPGRADE_REQUIRED,
            f"{request.path} is a WebSocket: connect with a WebSocket client.",
        )


def _parse_states(values: list[str]) -> list[SessionState] | None:
    """``?state=a,b`` (or repeated ``state``) to states; None means every state."""
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    if not names:
        return None
    try:
        return [SessionState(name) for name in names]
    except ValueError:
        known = ", ".join(state.value for state in SessionState)
        raise ApiError(
            400,
            errors.BAD_REQUEST,
            f"Unknown state in {','.join(names)!r}; known states: {known}.",
            field="state",
        ) from None
