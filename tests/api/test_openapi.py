"""The published OpenAPI document: complete, and true of what a real pipeline sends.

Frames and handles from a real run (with a plugin prompt) are validated
against the document's own schemas with a JSON Schema validator, not with
the msgspec types they were generated from.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema_rs
import pytest
from aiohttp import web

from tray_app.api import errors
from tray_app.api.contract import ERROR_CODES, OPERATIONS, PREFIX
from tray_app.api.service import ExlabService
from tray_app.config import load_settings
from tray_app.creation import errors as creation_errors

from .conftest import Api

ANSWERS = {"sample_count": 8, "plate_type": "96-well", "prep_date": "2026-01-05"}


async def fetch_document(api: Api) -> dict[str, Any]:
    # No token: integrators and tools discover the API before they have one.
    async with (
        aiohttp.ClientSession() as anonymous,
        anonymous.get(f"{api.base}/openapi.json") as response,
    ):
        assert response.status == 200
        assert response.content_type == "application/json"
        document: dict[str, Any] = await response.json()
    return document


def validator(document: dict[str, Any], name: str) -> Any:
    """A JSON Schema validator for ``#/components/schemas/<name>`` of ``document``."""
    root = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema_rs.validator_for(root)


async def test_every_route_is_documented_and_every_documented_route_exists(
    make_api: Any,
) -> None:
    api: Api = await make_api()
    document = await fetch_document(api)
    assert document["openapi"].startswith("3.1")
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    app = web.Application()
    api.api.routes.add_to(app)
    registered = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith(PREFIX)
    }
    assert documented == registered
    assert len(documented) == len(OPERATIONS)


async def test_security_errors_and_frames_are_in_the_document(make_api: Any) -> None:
    api: Api = await make_api()
    document = await fetch_document(api)
    components = document["components"]
    assert components["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The `token` of runtime.json.",
    }
    assert document["security"] == [{"bearer": []}]
    health = document["paths"][f"{PREFIX}/health"]["get"]
    assert health["security"] == []
    answered: dict[str, set[int]] = {}
    for item in document["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                if "$ref" in response:
                    response = components["responses"][response["$ref"].rsplit("/", 1)[1]]  # noqa: PLW2901
                for code in response.get("x-error-codes", []):
                    answered.setdefault(code, set()).add(int(status))
    table = document["x-error-codes"]
    every_code = {
        value
        for module in (errors, creation_errors)
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, str)
    }
    assert every_code == set(table)
    for code, statuses in answered.items():  # each operation's codes, at the table's status
        assert statuses == {table[code]["status"]}, code
    frames = components["schemas"]["AbortedFrame"]
    assert frames["properties"]["kind"] == {"enum": ["aborted"]}
    socket = document["paths"][f"{PREFIX}/events"]["get"]["responses"]["101"]["x-websocket"]
    assert set(socket["close-codes"]) == {"1000", "1001", "4008"}


async def test_a_plain_get_of_an_event_stream_is_told_to_upgrade(make_api: Any) -> None:
    api: Api = await make_api()
    async with api.http.get(f"{api.base}/events") as response:
        assert response.status == 426
        assert response.headers["Upgrade"] == "websocket"
        assert (await response.json())["error"]["code"] == "upgrade_required"


async def test_a_real_run_speaks_exactly_the_documented_frames_and_handles() -> None:
    service = ExlabService(load_settings(), publish_runtime=False, prewarm=False)
    await service.start()
    base = f"{service.url}{PREFIX}"
    try:
        async with aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {service.api.token}"}
        ) as http:
            async with http.get(f"{base}/openapi.json") as response:
                document = await response.json()
            frame = validator(document, "Frame")
            handle = validator(document, "SessionHandle")
            every = await http.ws_connect(f"{base}/events")
            seen: list[dict[str, Any]] = []
            for body in (
                {"kind": "project", "equipment_id": "DEMO", "project_name": "Doc", "operator": "a"},
                {"kind": "run", "equipment_id": "DEMO", "project_name": "Doc", "operator": "a",
                 "label": "doc run"},
            ):  # fmt: skip
                async with http.post(f"{base}/sessions", json=body) as response:
                    assert response.status == 201, await response.text()
                    created = await response.json()
                handle.validate(created)
                sid = created["session_id"]
                async with http.ws_connect(f"{base}/sessions/{sid}/events") as ws:
                    async for message in ws:
                        seen.append(message.json())
                        if seen[-1]["kind"] == "input_required":
                            async with http.post(
                                f"{base}/sessions/{sid}/resume", json={"answers": ANSWERS}
                            ) as resumed:
                                assert resumed.status == 200
                                handle.validate(await resumed.json())
                async with http.get(f"{base}/sessions/{sid}") as response:
                    final = await response.json()
                handle.validate(final)
                assert final["state"] == "done", final
            kinds = {f["kind"] for f in seen}
            assert {"snapshot", "phase", "progress", "input_required", "done"} <= kinds
            async with asyncio.timeout(30):
                while True:  # the /events copy of the same frames, with session_id
                    tagged = (await every.receive()).json()
                    frame.validate(tagged)
                    if tagged["kind"] == "done" and tagged["session_id"] == sid:
                        break
            await every.close()
        for each in seen:
            frame.validate(each)
    finally:
        await service.stop()


@pytest.mark.parametrize(
    "body",
    [{"kind": "project"}, {"kind": "lab"}, {"answers": 3}, []],
    ids=["missing fields", "unknown kind", "stray field", "not an object"],
)
async def test_refused_bodies_match_the_documented_envelope(make_api: Any, body: Any) -> None:
    api: Api = await make_api()
    document = await fetch_document(api)
    envelope = validator(document, "ErrorEnvelope")
    async with api.http.post(f"{api.base}/sessions", json=body) as response:
        assert response.status == 400
        envelope.validate(await response.json())


def test_the_integrators_guide_lists_every_error_code_and_operation() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    for code, (status, _meaning) in ERROR_CODES.items():
        assert f"| `{code}` | {status} |" in guide, code
    for op in OPERATIONS:
        assert f"({op.operation_id})" in guide, op.operation_id
