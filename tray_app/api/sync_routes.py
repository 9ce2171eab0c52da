"""``/api/v1/sync``: the NAS sync queue's jobs and summary, Retry now, and requeueing.

A mixin of :class:`tray_app.api.routes.ApiRoutes` (the contract table names its
handlers); the wire types are the creation layer's own ``SyncJob`` and
``SyncSummary``, so the queue, the CLI and the API show one shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from tray_app.api.errors import ApiError
from tray_app.api.middleware import typed_response
from tray_app.api.schemas import decode_body
from tray_app.api.sync_schemas import RequeueBody, SyncList
from tray_app.creation import errors as creation
from tray_app.creation.errors import CreationError
from tray_app.creation.sync import SyncJob

if TYPE_CHECKING:
    from tray_app.creation.seam import CreationSeam

__all__ = ["SyncRoutes"]


class SyncRoutes:
    controller: CreationSeam | None

    def _sync_controller(self) -> CreationSeam:
        if self.controller is None:
            from tray_app.api import errors

            raise ApiError(503, errors.PIPELINE_UNAVAILABLE, "This server has no NAS sync queue.")
        return self.controller

    async def list_sync(self, request: web.Request) -> web.Response:
        controller = self._sync_controller()
        summary = controller.sync_summary()
        listing = SyncList(summary is not None, summary, controller.sync_jobs())
        return typed_response(listing, SyncList)

    async def retry_sync(self, request: web.Request) -> web.Response:
        controller = self._sync_controller()
        try:
            job = await controller.retry_sync(request.match_info["job_id"])
        except CreationError as exc:
            raise _api_error(exc) from None
        return typed_response(job, SyncJob)

    async def requeue_sync(self, request: web.Request) -> web.Response:
        controller = self._sync_controller()
        body: RequeueBody = decode_body(await request.read(), RequeueBody)
        try:
            job = await controller.requeue_sync(body.id)
        except CreationError as exc:
            raise _api_error(exc) from None
        return typed_response(job, SyncJob)


_STATUS = {
    creation.SYNC_JOB_NOT_FOUND: 404,
    creation.SYNC_NOT_CONFIGURED: 409,
    creation.VALIDATION_FAILED: 422,
}


def _api_error(exc: CreationError) -> ApiError:
    return ApiError(
        _STATUS.get(exc.code, 422), exc.code, exc.message, field=exc.field, details=exc.details
    )
