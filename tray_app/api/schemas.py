"""Wire schemas of the request bodies (DESIGN §5) and their strict decoding.

``POST /sessions`` reuses :data:`tray_app.creation.requests.CreateRequest`.
Decoding failures become ``bad_request`` errors that name the offending
field as a JSON path (``$.label``).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from tray_app.api.errors import BAD_REQUEST, ApiError
from tray_app.creation.requests import CreateRequest, ProjectRequest, RunRequest

__all__ = [
    "CancelBody",
    "CreateRequest",
    "ProjectRequest",
    "ResumeBody",
    "RunRequest",
    "decode_body",
]


class ResumeBody(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /sessions/{id}/resume``: answers keyed by prompt field id."""

    answers: dict[str, Any]


class CancelBody(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /sessions/{id}/cancel``: whether to remove the partial folder."""

    discard_files: bool = False


_PATH_SUFFIX = re.compile(r" - at `(?P<path>\$[^`]*)`$")
_NAMED_FIELD = re.compile(r"(?:unknown field|missing required field) `(?P<name>[^`]+)`")


def validation_field(error: msgspec.ValidationError) -> str:
    """The JSON path a msgspec validation error is about, e.g. ``$.label``.

    msgspec names unknown and missing fields in the message rather than in
    the path, so they are appended to it.
    """
    message = str(error)
    match = _PATH_SUFFIX.search(message)
    path = match.group("path") if match else "$"
    named = _NAMED_FIELD.search(message)
    if named:
        path = f"{path}.{named.group('name')}"
    return path


def decode_body(raw: bytes, schema: Any, *, optional: bool = False) -> Any:
    """Decode a JSON body into ``schema``, strictly; raise ``ApiError(400)`` otherwise.

    ``optional`` lets an empty body stand for ``{}`` (all defaults).
    """
    if not raw.strip():
        if not optional:
            raise ApiError(400, BAD_REQUEST, "A JSON request body is required.")
        raw = b"{}"
    try:
        return msgspec.json.decode(raw, type=schema)
    except msgspec.ValidationError as error:
        message = _PATH_SUFFIX.sub("", str(error))
        raise ApiError(400, BAD_REQUEST, message, field=validation_field(error)) from None
    except msgspec.DecodeError as error:
        raise ApiError(400, BAD_REQUEST, f"Malformed JSON: {error}") from None
