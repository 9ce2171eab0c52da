"""The OpenAPI 3.1 document of ``/api/v1``, generated from the contract table and the wire types.

Schemas come from ``msgspec.json.schema_components`` over the very types
that decode requests and encode responses and frames; paths, status codes,
error codes, links and security come from :data:`tray_app.api.contract.OPERATIONS`.
Nothing here is written by hand per route.

WebSocket operations have no OpenAPI vocabulary: they appear as ``GET``
with a ``101`` response whose ``x-websocket`` extension names the frame
schema and the close codes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import msgspec

from tray_app.api.contract import CLOSE_CODES, COMMON_ERRORS, ERROR_CODES, OPERATIONS, Operation
from tray_app.api.schemas import CreateRequest, ErrorEnvelope, Frame

#: Unions msgspec inlines; named here so that clients and tools can refer to them.
_NAMED_UNIONS: dict[str, Any] = {"Frame": Frame, "CreateRequest": CreateRequest}

_REF = "#/components/schemas/{name}"
_PARAM = re.compile(r"{(\w+)}")
_JSON = "application/json"


def build_document(version: str, operations: Iterable[Operation] = OPERATIONS) -> dict[str, Any]:
    operations = tuple(operations)
    types: list[Any] = [ErrorEnvelope, Frame]
    for op in operations:
        types.extend(t for t in (op.body, op.response) if t is not None)
    refs, components = msgspec.json.schema_components(types, ref_template=_REF)
    schema_of = dict(zip(map(id, types), refs, strict=True))
    for name, union in _NAMED_UNIONS.items():
        if id(union) in schema_of:
            components[name] = schema_of[id(union)]
            schema_of[id(union)] = {"$ref": _REF.format(name=name)}
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.full_path, {})[op.method.lower()] = _operation(op, schema_of)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ExLab Tray local API",
            "version": version,
            "description": "Loopback-only API of a running ExLab Tray (or `exlab-tray serve`). "
            "Find the URL and token in runtime.json; see docs/api.md.",
        },
        "servers": [{"url": "http://127.0.0.1:{port}", "variables": {"port": {"default": "0"}}}],
        "security": [{"bearer": []}],
        "paths": paths,
        "x-error-codes": {
            code: {"status": status, "meaning": meaning}
            for code, (status, meaning) in ERROR_CODES.items()
        },
        "components": {
            "schemas": components,
            "responses": _common_responses(),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The `token` of runtime.json.",
                }
            },
        },
    }


def _operation(op: Operation, schema_of: dict[int, dict[str, Any]]) -> dict[str, Any]:
    entry: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary}
    if op.description:
        entry["description"] = op.description
    if op.public:
        entry["security"] = []
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PARAM.findall(op.path)
    ]
    parameters += [
        {
            "name": q.name,
            "in": "query",
            "required": False,
            "description": q.description,
            "schema": q.schema,
            "style": "form",
            "explode": q.explode,
        }
        for q in op.query
    ]
    if parameters:
        entry["parameters"] = parameters
    if op.body is not None:
        media: dict[str, Any] = {"schema": schema_of[id(op.body)]}
        if op.examples:
            media["examples"] = {name: {"value": value} for name, value in op.examples.items()}
        entry["requestBody"] = {"required": op.body_required, "content": {_JSON: media}}
    entry["responses"] = {**_success(op, schema_of), **_errors(op)}
    return entry


def _success(op: Operation, schema_of: dict[int, dict[str, Any]]) -> dict[str, Any]:
    if op.websocket:
        frames = schema_of[id(op.response)]
        return {
            "101": {
                "description": "Switching to WebSocket; then one JSON frame per text message.",
                "x-websocket": {"frames": frames, "close-codes": CLOSE_CODES},
            }
        }
    if op.response is None:
        return {str(op.status): {"description": "Done; no body."}}
    content = {_JSON: {"schema": schema_of[id(op.response)]}}
    response: dict[str, Any] = {"description": op.summary, "content": content}
    if op.links:
        response["links"] = {
            name: {"operationId": target, "parameters": {"session_id": value}}
            for name, (target, value) in op.links.items()
        }
    return {str(op.status): response}


def _errors(op: Operation) -> dict[str, Any]:
    own: dict[int, list[str]] = {status: list(codes) for status, *codes in op.errors}
    responses: dict[str, Any] = {}
    for status, _description, codes in COMMON_ERRORS:
        if status == 401 and op.public:
            continue
        if status in own:
            own[status].extend(codes)
        else:
            responses[str(status)] = {"$ref": f"#/components/responses/E{status}"}
    for status, listed in own.items():
        responses[str(status)] = _error_response(f"Codes: {', '.join(listed)}.", listed)
    return dict(sorted(responses.items()))


def _common_responses() -> dict[str, Any]:
    return {
        f"E{status}": _error_response(f"{description} Codes: {', '.join(codes)}.", codes)
        for status, description, codes in COMMON_ERRORS
    }


def _error_response(description: str, codes: Iterable[str]) -> dict[str, Any]:
    return {
        "description": description,
        "content": {_JSON: {"schema": {"$ref": _REF.format(name="ErrorEnvelope")}}},
        "x-error-codes": list(codes),
    }
