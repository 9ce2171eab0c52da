"""Every route against the real service: real CreationController, bundled templates, real plugin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tray_app import paths
from tray_app.api.service import ExlabService
from tray_app.config import load_settings
from tray_app.sessions import SessionKind, SessionState, to_handle

from .conftest import receive_json

ANSWERS = {"sample_count": 12, "plate_type": "96-well", "prep_date": "2026-01-05"}


class Client:
    def __init__(self, service: ExlabService, http: aiohttp.ClientSession) -> None:
        self.service = service
        self.http = http
        self.base = f"{service.url}/api/v1"

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.http.request(method, f"{self.base}{path}", **kwargs) as response:
            body = await response.json() if response.status != 204 else None
            return response.status, body

    def ws(self, path: str) -> Any:
        return self.http.ws_connect(f"{self.base}{path}")


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    service = ExlabService(load_settings())
    await service.start()
    headers = {"Authorization": f"Bearer {service.api.token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        yield Client(service, http)
    await service.stop()


def is_dir(path: Path) -> bool:
    return path.is_dir()


def exists(path: Path) -> bool:
    return path.exists()


def project_body(name: str = "Demo") -> dict[str, Any]:
    return {"kind": "project", "equipment_id": "DEMO", "project_name": name, "operator": "ana"}


def run_body(label: str = "first", **extra: Any) -> dict[str, Any]:
    return {
        "kind": "run",
        "equipment_id": "DEMO",
        "project_name": "Demo",
        "operator": "ana",
        "label": label,
        **extra,
    }


async def follow(ws: Any) -> list[dict[str, Any]]:
    frames = []
    while True:
        message = await ws.receive(timeout=30)
        if message.type is not aiohttp.WSMsgType.TEXT:
            return frames
        frames.append(message.json())


async def wait_for_prompt(ws: Any) -> dict[str, Any]:
    while True:
        frame = await receive_json(ws, limit_s=30)
        if frame["kind"] == "input_required":
            return frame
        if frame["kind"] == "snapshot" and frame["session"]["state"] == "input_required":
            return frame["session"]["pending_input"]  # type: ignore[no-any-return]
        assert frame["kind"] not in ("done", "failed", "aborted"), frame


async def make_project(client: Client) -> dict[str, Any]:
    status, handle = await client.call("POST", "/sessions", json=project_body())
    assert status == 201, handle
    async with client.ws(f"/sessions/{handle['session_id']}/events") as ws:
        frames = await follow(ws)
    assert frames[-1]["kind"] == "done", frames
    return handle  # type: ignore[no-any-return]


async def test_run_with_a_plugin_prompt_from_open_to_done(client: Client) -> None:
    await make_project(client)
    status, handle = await client.call("POST", "/sessions", json=run_body())
    assert status == 201
    assert handle["kind"] == "run"
    assert handle["state"] not in ("pending", "validating", "failed")
    sid = handle["session_id"]
    async with client.ws(f"/sessions/{sid}/events") as ws:
        prompt = await wait_for_prompt(ws)
        assert prompt["plugin"] == "plate_map"
        assert {f["id"] for f in prompt["fields"]} >= set(ANSWERS)

        status, error = await client.call(
            "POST", f"/sessions/{sid}/resume", json={"answers": {**ANSWERS, "sample_count": 0}}
        )
        assert status == 422
        assert error["error"]["code"] == "invalid_answers"
        assert "sample_count" in error["error"]["details"]["fields"]
        status, waiting = await client.call("GET", f"/sessions/{sid}")
        assert waiting["state"] == "input_required"  # still waiting after a bad answer

        status, body = await client.call(
            "POST", f"/sessions/{sid}/resume", json={"answers": {"nonsense": 1}}
        )
        assert (status, body["error"]["code"]) == (422, "invalid_answers")

        status, resumed = await client.call(
            "POST", f"/sessions/{sid}/resume", json={"answers": ANSWERS}
        )
        assert status == 200, resumed
        frames = await follow(ws)
        assert ws.close_code == 1000
    assert frames[-1]["kind"] == "done", frames
    result = frames[-1]["result"]
    assert (Path(result["path"]) / "plate_map.csv").is_file()
    status, listed = await client.call("GET", "/sessions?state=done")
    assert sid in [h["session_id"] for h in listed["sessions"]]

    # A finished session cannot be answered or cancelled again.
    status, body = await client.call("POST", f"/sessions/{sid}/resume", json={"answers": ANSWERS})
    assert (status, body["error"]["code"]) == (409, "session_already_completed")
    status, body = await client.call("POST", f"/sessions/{sid}/cancel")
    assert (status, body["error"]["code"]) == (409, "session_already_completed")


async def test_a_refused_request_is_422_with_field_errors_and_no_session(client: Client) -> None:
    status, body = await client.call("POST", "/sessions", json=run_body(project_name="Nowhere"))
    error = body["error"]
    assert (status, error["code"]) == (422, "validation_failed")
    assert error["field"] == "project_name"
    assert [e["field"] for e in error["details"]["errors"]] == ["project_name"]
    # No session was opened, so none failed: nothing in the list, no notice, no badge.
    assert "session_id" not in error["details"]
    assert client.service.store.sessions() == []
    status, listed = await client.call("GET", "/sessions")
    assert listed["sessions"] == []

    # A burst of refusals leaves the real sessions in Recent alone.
    for _ in range(5):
        status, _body = await client.call(
            "POST", "/sessions", json={**project_body(), "label": "x" * 10_000}
        )
        assert status == 422
    assert client.service.store.sessions() == []

    body = {**project_body(), "equipment_id": "NOPE"}
    status, refused = await client.call("POST", "/sessions", json=body)
    assert (status, refused["error"]["field"]) == (422, "equipment_id")


async def test_cancel_with_discard_removes_the_partial_folder(client: Client) -> None:
    await make_project(client)
    status, handle = await client.call("POST", "/sessions", json=run_body("to-cancel"))
    sid = handle["session_id"]
    async with client.ws(f"/sessions/{sid}/events") as ws:
        await wait_for_prompt(ws)
        destination = Path(handle["destination"])
        assert is_dir(destination)
        status, cancelled = await client.call(
            "POST", f"/sessions/{sid}/cancel", json={"discard_files": True}
        )
        assert status == 200
        assert cancelled["state"] == "aborted"
        frames = await follow(ws)
    assert frames[-1]["kind"] == "aborted"
    assert frames[-1]["reason"]["code"] == "cancelled"
    assert not exists(destination)


async def test_cancel_body_is_optional_and_strict(client: Client) -> None:
    await make_project(client)
    status, handle = await client.call("POST", "/sessions", json=run_body("keep"))
    sid = handle["session_id"]
    status, body = await client.call("POST", f"/sessions/{sid}/cancel", json={"discard": True})
    assert (status, body["error"]["code"], body["error"]["field"]) == (
        400, "bad_request", "$.discard"
    )  # fmt: skip
    status, body = await client.call("POST", f"/sessions/{sid}/cancel", data=b"")
    assert status == 200 and body["state"] == "aborted"
    assert is_dir(Path(handle["destination"]))  # kept for review


async def test_resume_refusals(client: Client) -> None:
    status, body = await client.call("POST", "/sessions/nope/resume", json={"answers": {}})
    assert (status, body["error"]["code"]) == (404, "session_not_found")
    # A live session that is not waiting for input.
    store = client.service.store
    busy = store.open(SessionKind.RUN, {})
    store.transition(busy.session_id, SessionState.VALIDATING)
    status, body = await client.call(
        "POST", f"/sessions/{busy.session_id}/resume", json={"answers": {}}
    )
    assert (status, body["error"]["code"]) == (409, "not_awaiting_input")
    status, body = await client.call(
        "POST", f"/sessions/{busy.session_id}/resume", json={"answers": [1]}
    )
    assert (status, body["error"]["field"]) == (400, "$.answers")
    status, body = await client.call("POST", "/sessions/nope/cancel")
    assert (status, body["error"]["code"]) == (404, "session_not_found")
    store.transition(busy.session_id, SessionState.ABORTED, outcome={"code": "cancelled"})


async def test_bad_requests_change_nothing_with_a_live_pipeline(client: Client) -> None:
    async with aiohttp.ClientSession() as anonymous:
        response = await anonymous.post(f"{client.base}/sessions", json=project_body())
        assert response.status == 401
        response = await client.http.post(
            f"{client.base}/sessions", json=project_body(), headers={"Host": "evil.example"}
        )
        assert response.status == 403
        response = await client.http.post(
            f"{client.base}/sessions", json={**project_body(), "extra": 1}
        )
        assert response.status == 400
    assert len(client.service.store) == 0
    assert not (paths.data_dir() / "ExLab" / "DEMO" / "Demo").exists()


async def test_shutting_down_refuses_new_sessions_and_health_says_so(client: Client) -> None:
    client.service.controller.begin_shutdown()
    status, body = await client.call("POST", "/sessions", json=project_body())
    assert (status, body["error"]["code"]) == (503, "shutting_down")
    status, health = await client.call("GET", "/health")
    assert health["components"]["controller"] == "shutting_down"
    assert len(client.service.store) == 0


async def test_service_stop_aborts_waiting_sessions_closes_sockets_and_cleans_up() -> None:
    service = ExlabService(load_settings())
    await service.start()
    runtime = paths.runtime_file_path()
    assert runtime.exists()
    headers = {"Authorization": f"Bearer {service.api.token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        client = Client(service, http)
        await make_project(client)
        _, handle = await client.call("POST", "/sessions", json=run_body("interrupted"))
        sid = handle["session_id"]
        async with client.ws(f"/sessions/{sid}/events") as ws:
            await wait_for_prompt(ws)
            await service.stop(timeout=3.0)
            frames = await follow(ws)
    assert frames[-1]["kind"] == "aborted"
    assert frames[-1]["reason"]["code"] == "shutdown"
    assert not runtime.exists()
    assert to_handle(service.store.get(sid))["state"] == "aborted"  # type: ignore[arg-type]
    await service.stop()  # idempotent
