"""Security and error-envelope behaviour of the real server on loopback, without a pipeline."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.support.clock import FakeClock
from tray_app.sessions import SessionKind, SessionState, to_handle

from .conftest import Api


def store_state(api: Api) -> list[dict[str, Any]]:
    return [to_handle(s) for s in api.store.sessions()]


async def error_of(response: aiohttp.ClientResponse) -> dict[str, Any]:
    body = await response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert "Traceback" not in error["message"]
    return error


async def test_health_answers_without_token_and_reports_counts(make_api: Any) -> None:
    api: Api = await make_api()
    api.store.open(SessionKind.RUN, {})
    async with aiohttp.ClientSession() as anonymous:
        response = await anonymous.get(f"{api.base}/health")
        assert response.status == 200
        health = await response.json()
    assert health["status"] == "ok"
    assert health["sessions"] == {"total": 1, "live": 1, "waiting": 0, "finished": 0}
    assert health["components"]["store"] == "ok"
    assert health["components"]["controller"] == "unavailable"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong-token-of-a-different-length",
        "Basic abc",
        "Bearer ",
        "Bearer é-non-ascii",
    ],
)
async def test_requests_without_the_right_token_are_refused(
    make_api: Any, clock: FakeClock, authorization: str | None
) -> None:
    api: Api = await make_api()
    session = api.store.open(SessionKind.RUN, {})
    clock.advance(minutes=5)  # a heartbeat would now show in the handle
    before = store_state(api)
    headers = {} if authorization is None else {"Authorization": authorization}
    async with aiohttp.ClientSession() as other:
        for method, path in [
            ("GET", "/sessions"),
            ("GET", f"/sessions/{session.session_id}"),
            ("POST", f"/sessions/{session.session_id}/heartbeat"),
            ("POST", f"/sessions/{session.session_id}/cancel"),
            ("POST", "/sessions"),
            ("GET", "/no/such/route"),
        ]:
            response = await other.request(method, f"{api.base}{path}", headers=headers)
            assert response.status == 401, (method, path)
            assert (await error_of(response))["code"] == "unauthorized"
    assert store_state(api) == before


async def test_a_token_of_the_same_length_but_wrong_is_refused(make_api: Any) -> None:
    api: Api = await make_api()
    wrong = ("A" if api.api.token[0] != "A" else "B") + api.api.token[1:]
    async with aiohttp.ClientSession() as other:
        response = await other.get(
            f"{api.base}/sessions", headers={"Authorization": f"Bearer {wrong}"}
        )
        assert response.status == 401


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:{port}", "127.0.0.1:1", "localhost", "[::1]:{port}"]
)
async def test_a_foreign_host_header_is_refused_even_for_health(
    make_api: Any, clock: FakeClock, host: str
) -> None:
    api: Api = await make_api()
    session = api.store.open(SessionKind.RUN, {})
    clock.advance(minutes=5)
    before = store_state(api)
    headers = {"Host": host.format(port=api.api.port)}
    for path in ["/health", "/sessions", f"/sessions/{session.session_id}/heartbeat"]:
        method = "POST" if path.endswith("heartbeat") else "GET"
        response = await api.http.request(method, f"{api.base}{path}", headers=headers)
        assert response.status == 403
        assert (await error_of(response))["code"] == "forbidden_host"
    assert store_state(api) == before


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}"])
async def test_loopback_host_names_are_accepted(make_api: Any, host: str) -> None:
    api: Api = await make_api()
    response = await api.http.get(
        f"{api.base}/sessions", headers={"Host": host.format(port=api.api.port)}
    )
    assert response.status == 200
    assert await response.json() == {"sessions": []}


async def test_unknown_routes_and_methods_use_the_envelope(make_api: Any) -> None:
    api: Api = await make_api()
    response = await api.http.get(f"{api.base}/nope")
    assert response.status == 404
    assert (await error_of(response))["code"] == "not_found"
    response = await api.http.delete(f"{api.base}/sessions")
    assert response.status == 405
    assert (await error_of(response))["code"] == "method_not_allowed"


async def test_unknown_session_is_session_not_found(make_api: Any) -> None:
    api: Api = await make_api()
    for method, path in [
        ("GET", "/sessions/does-not-exist"),
        ("POST", "/sessions/does-not-exist/heartbeat"),
        ("GET", "/sessions/does-not-exist/events"),
    ]:
        response = await api.http.request(method, f"{api.base}{path}")
        assert response.status == 404, path
        error = await error_of(response)
        assert error["code"] == "session_not_found"


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (b"x" * (64 * 1024 + 1), 413, "payload_too_large", None),
        (b"{not json", 400, "bad_request", None),
        (b"[]", 400, "bad_request", "$"),
        (b"", 400, "bad_request", None),
        (
            b'{"kind":"run","equipment_id":"X","project_name":"P","operator":"o","label":3}',
            400,
            "bad_request",
            "$.label",
        ),
        (
            b'{"kind":"run","equipment_id":"X","project_name":"P","operator":"o","label":"l",'
            b'"colour":"red"}',
            400,
            "bad_request",
            "$.colour",
        ),
        (
            b'{"kind":"run","equipment_id":"X","project_name":"P","operator":"o"}',
            400,
            "bad_request",
            "$.label",
        ),
        (b'{"kind":"spaceship"}', 400, "bad_request", "$.kind"),
        (
            b'{"kind":"run","equipment_id":"X","project_name":"P","operator":"o","label":"l",'
            b'"run_kind":"sometimes"}',
            400,
            "bad_request",
            "$.run_kind",
        ),
    ],
)
async def test_bad_create_bodies_are_refused_before_anything_happens(
    make_api: Any, body: bytes, status: int, code: str, field: str | None
) -> None:
    api: Api = await make_api()
    response = await api.http.post(
        f"{api.base}/sessions", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == status
    error = await error_of(response)
    assert error["code"] == code
    assert error.get("field") == field
    assert len(api.store) == 0


async def test_list_filters_by_state_and_rejects_unknown_states(make_api: Any) -> None:
    api: Api = await make_api()
    first = api.store.open(SessionKind.RUN, {})
    second = api.store.open(SessionKind.PROJECT, {})
    api.store.transition(second.session_id, SessionState.ABORTED, outcome={"code": "cancelled"})
    everything = await (await api.http.get(f"{api.base}/sessions")).json()
    assert [h["session_id"] for h in everything["sessions"]] == [
        second.session_id,
        first.session_id,
    ]
    pending = await (await api.http.get(f"{api.base}/sessions?state=pending")).json()
    assert [h["session_id"] for h in pending["sessions"]] == [first.session_id]
    both = await (await api.http.get(f"{api.base}/sessions?state=pending,aborted")).json()
    assert len(both["sessions"]) == 2
    response = await api.http.get(f"{api.base}/sessions?state=pending,sleeping")
    assert response.status == 400
    error = await error_of(response)
    assert (error["code"], error["field"]) == ("bad_request", "state")


async def test_get_session_returns_the_handle_on_the_wire(make_api: Any, clock: FakeClock) -> None:
    api: Api = await make_api()
    session = api.store.open(SessionKind.RUN, {}, destination="/data/X", title="Run A")
    response = await api.http.get(f"{api.base}/sessions/{session.session_id}")
    assert response.status == 200
    handle = await response.json()
    assert handle["session_id"] == session.session_id
    assert handle["state"] == "pending"
    assert handle["kind"] == "run"
    assert handle["next_action"] == "none"
    assert handle["created_at"] == "2026-01-05T09:00:00Z"
    assert handle["destination"] == "/data/X"


async def test_heartbeat_refreshes_the_session(make_api: Any, clock: FakeClock) -> None:
    api: Api = await make_api()
    session = api.store.open(SessionKind.RUN, {})
    clock.advance(minutes=30)
    response = await api.http.post(f"{api.base}/sessions/{session.session_id}/heartbeat")
    assert response.status == 204
    assert session.last_heartbeat == clock.now


async def test_routes_that_need_the_pipeline_say_so_when_it_is_missing(make_api: Any) -> None:
    api: Api = await make_api()
    body = {"kind": "project", "equipment_id": "X", "project_name": "P", "operator": "o"}
    response = await api.http.post(f"{api.base}/sessions", json=body)
    assert response.status == 503
    assert (await error_of(response))["code"] == "pipeline_unavailable"


async def test_activate_calls_back_or_is_not_supported(make_api: Any) -> None:
    headless: Api = await make_api()
    response = await headless.http.post(f"{headless.base}/app/activate")
    assert response.status == 409
    assert (await error_of(response))["code"] == "not_supported"

    calls: list[str] = []
    tray: Api = await make_api(
        activate_callback=lambda: calls.append("shown"), publish_runtime=False
    )
    response = await tray.http.post(f"{tray.base}/app/activate")
    assert response.status == 204
    assert calls == ["shown"]


async def test_an_unexpected_exception_is_an_internal_error_without_traceback(
    make_api: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("secret internals")

    api: Api = await make_api(activate_callback=broken)
    response = await api.http.post(f"{api.base}/app/activate")
    assert response.status == 500
    error = await error_of(response)
    assert error["code"] == "internal_error"
    assert "secret internals" not in error["message"]
    assert "secret internals" in caplog.text  # logged for the maintainer
