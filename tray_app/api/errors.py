"""API errors as values: a stable code, an HTTP status, and the wire envelope of DESIGN §5."""

from __future__ import annotations

from typing import Any

from tray_app.creation import errors as creation_errors
from tray_app.creation.errors import CreationError
from tray_app.i18n import _

# Stable API codes (creation codes are reused as they are).
UNAUTHORIZED = "unauthorized"
FORBIDDEN_HOST = "forbidden_host"
FORBIDDEN_ORIGIN = "forbidden_origin"
BAD_REQUEST = "bad_request"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
PAYLOAD_TOO_LARGE = "payload_too_large"
UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
NOT_SUPPORTED = "not_supported"
PIPELINE_UNAVAILABLE = "pipeline_unavailable"
INTERNAL_ERROR = "internal_error"
# Refusals of the HTTP layer itself (tray_app.api.shedding).
REQUEST_TIMEOUT = "request_timeout"
HEADERS_TOO_LARGE = "headers_too_large"
TOO_MANY_CONNECTIONS = "too_many_connections"
UPGRADE_REQUIRED = "upgrade_required"

#: HTTP status of each CreationError code; other creation codes are 422 (a refused request).
CREATION_STATUS: dict[str, int] = {
    creation_errors.SESSION_NOT_FOUND: 404,
    creation_errors.SESSION_ALREADY_COMPLETED: 409,
    creation_errors.NOT_AWAITING_INPUT: 409,
    creation_errors.INVALID_ANSWERS: 422,
    creation_errors.VALIDATION_FAILED: 422,
    creation_errors.SHUTTING_DOWN: 503,
    creation_errors.JOURNAL_UNAVAILABLE: 503,
    creation_errors.SESSION_STILL_RUNNING: 409,
    creation_errors.NOTHING_TO_DISCARD: 409,
    creation_errors.FOLDER_COMPLETE: 409,
}


class ApiError(CreationError):
    """A refused request: a :class:`CreationError` plus the HTTP status it is sent with.

    The error middleware turns it into the JSON envelope.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(code, message, field=field, details=details)
        self.status = status

    @classmethod
    def from_creation_error(cls, error: CreationError) -> ApiError:
        if isinstance(error, ApiError):
            return error
        return cls(
            CREATION_STATUS.get(error.code, 422),
            error.code,
            error.message,
            field=error.field,
            details=error.details,
        )

    def envelope(self) -> dict[str, Any]:
        """``{"error": {"code", "message", "field"?, "details"?}}``."""
        return {"error": self.to_dict()}


def session_not_found(session_id: str) -> ApiError:
    return ApiError(404, creation_errors.SESSION_NOT_FOUND, no_session_words(session_id))


def no_session_words(session_id: str) -> str:
    return _("No session with id {id!r}.").format(id=session_id)
