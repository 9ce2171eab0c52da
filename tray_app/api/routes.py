"""The ``/api/v1`` routes of DESIGN §5: thin handlers over the store and the controller."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tray_app import __version__
from tray_app.api import errors
from tray_app.api.errors import ApiError, session_not_found
from tray_app.api.events import EventStream
from tray_app.api.middleware import json_response
from tray_app.api.schemas import CancelBody, CreateRequest, ResumeBody, decode_body
from tray_app.api.wire import FrameEncoder
from tray_app.creation.seam import CreationSeam
from tray_app.sessions import SessionState, SessionStore, to_handle

PREFIX = "/api/v1"


#: What the API needs of the controller: the seam the dialogs use too.
SessionController = CreationSeam


class ApiRoutes:
    """Handlers bound to one store and controller; also tracks open event sockets."""

    def __init__(
        self,
        store: SessionStore,
        controller: SessionController | None,
        *,
        activate_callback: Callable[[], None] | None = None,
        heartbeat_interval_s: float = 60.0,
    ) -> None:
        self.store = store
        self.controller = controller
        self.activate_callback = activate_callback
        self.heartbeat_interval_s = heartbeat_interval_s
        #: Open event sockets and the handler task serving each.
        self.streams: dict[EventStream, asyncio.Task[object] | None] = {}
        self._encoder = FrameEncoder()
        self._started = time.monotonic()

    def add_to(self, app: web.Application) -> None:
        app.router.add_routes(
            [
                web.get(f"{PREFIX}/health", self.health),
                web.post(f"{PREFIX}/sessions", self.create_session),
                web.get(f"{PREFIX}/sessions", self.list_sessions),
                web.get(f"{PREFIX}/sessions/{{session_id}}", self.get_session),
                web.post(f"{PREFIX}/sessions/{{session_id}}/resume", self.resume_session),
                web.post(f"{PREFIX}/sessions/{{session_id}}/cancel", self.cancel_session),
                web.post(f"{PREFIX}/sessions/{{session_id}}/heartbeat", self.heartbeat),
                web.get(f"{PREFIX}/sessions/{{session_id}}/events", self.session_events),
                web.get(f"{PREFIX}/events", self.all_events),
                web.post(f"{PREFIX}/app/activate", self.activate),
            ]
        )

    # ---- HTTP ----------------------------------------------------------------
    async def health(self, request: web.Request) -> web.Response:
        store = self.store
        controller = self.controller
        if controller is None:
            pipeline = "unavailable"
        else:
            pipeline = "ok" if controller.accepting else "shutting_down"
        return json_response(
            {
                "status": "ok",
                "version": __version__,
                "pid": os.getpid(),
                "uptime_s": round(time.monotonic() - self._started, 3),
                "sessions": {
                    "total": len(store),
                    "live": store.live_count,
                    "waiting": store.waiting_count,
                    "finished": store.finished_count,
                },
                "components": {
                    "store": "ok",
                    "controller": pipeline,
                    "api": "ok",
                    "event_sockets": len(self.streams),
                },
            }
        )

    async def create_session(self, request: web.Request) -> web.Response:
        body: CreateRequest = decode_body(await request.read(), CreateRequest)
        handle = await self._call(lambda controller: controller.create(body))
        return json_response(handle, status=201)

    async def list_sessions(self, request: web.Request) -> web.Response:
        states = _parse_states(request.query.getall("state", []))
        return json_response({"sessions": [to_handle(s) for s in self.store.sessions(states)]})

    async def get_session(self, request: web.Request) -> web.Response:
        session_id = request.match_info["session_id"]
        session = self.store.get(session_id)
        if session is None:
            raise session_not_found(session_id)
        return json_response(to_handle(session))

    async def resume_session(self, request: web.Request) -> web.Response:
        session_id = request.match_info["session_id"]
        body: ResumeBody = decode_body(await request.read(), ResumeBody)
        handle = await self._call(lambda controller: controller.resume(session_id, body.answers))
        return json_response(handle)

    async def cancel_session(self, request: web.Request) -> web.Response:
        session_id = request.match_info["session_id"]
        body: CancelBody = decode_body(await request.read(), CancelBody, optional=True)
        handle = await self._call(
            lambda controller: controller.cancel(session_id, discard_files=body.discard_files)
        )
        return json_response(handle)

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
        store = self.store
        stream = EventStream(
            store.subscribe(session_id),
            self._encoder,
            heartbeat=lambda: store.heartbeat(session_id),
            heartbeat_interval_s=self.heartbeat_interval_s,
        )
        return await self._serve(stream, request)

    async def all_events(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(EventStream(self.store.subscribe_all(), self._encoder), request)

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
                503, errors.NOT_SUPPORTED, "The creation pipeline is not available here."
            )
        result: dict[str, Any] = await action(controller)
        return result


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
