"""Every failure comes out as RFC 9457 problem+json, whatever the input."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quart import Quart, Response

from flask_core import errors
from flask_core.api import create_response, install_request_plumbing, read_json
from flask_core.auth import check_guards, public
from flask_core.validation import validate_input

PROBLEM_MEMBERS = {
    "type",
    "title",
    "status",
    "detail",
    "error",
    "message",
    "correlation_id",
    "timestamp",
}
SCHEMA = {
    "name": {"type": "string", "required": True, "maxlength": 20},
    "count": {"type": "integer", "min": 0},
}


def build_app() -> Quart:
    app = Quart("probe")
    install_request_plumbing(app)

    @app.post("/echo")
    @public
    async def echo() -> Response:
        return create_response(validate_input(await read_json(), SCHEMA), 201)

    @app.get("/boom")
    @public
    async def boom() -> Response:
        raise RuntimeError("secret internals")

    @app.get("/limited")
    @public
    async def limited() -> Response:
        raise errors.RateLimited(headers={"Retry-After": "3"})

    check_guards(app)
    return app


APP = build_app()


async def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    body = await response.get_json(force=True)
    assert set(body) >= PROBLEM_MEMBERS
    assert body["status"] == status
    assert body["error"] == code
    assert body["message"] == body["detail"]
    assert body["correlation_id"] == response.headers["X-Request-ID"]
    assert body["timestamp"].endswith("Z")
    return dict(body)


async def test_valid_body_passes() -> None:
    response = await APP.test_client().post("/echo", json={"name": "ok", "count": 2})
    assert response.status_code == 201
    assert await response.get_json() == {"name": "ok", "count": 2}


async def test_schema_failures_list_the_fields() -> None:
    response = await APP.test_client().post("/echo", json={"count": -1, "extra": 1})
    body = await assert_problem(response, 400, "invalid_input")
    assert set(body["fields"]) == {"name", "count", "extra"}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "invalid_input"),
        (b"[1, 2]", "application/json", 400, "invalid_input"),
        (b'{"name": NaN}', "application/json", 400, "invalid_input"),
        (b"", "application/json", 400, "invalid_input"),
        (b'{"name": "x"}', "text/plain", 415, "unsupported_media_type"),
        (b"\xff\xfe\x00garbage", "application/json", 400, "invalid_input"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400, "invalid_input"),
        (b"x" * (1024 * 1024 + 1), "application/json", 413, "payload_too_large"),
    ],
)
async def test_malformed_bodies(body: bytes, content_type: str, status: int, code: str) -> None:
    response = await APP.test_client().post(
        "/echo", data=body, headers={"Content-Type": content_type}
    )
    await assert_problem(response, status, code)


async def test_unknown_route_wrong_method_and_crash() -> None:
    client = APP.test_client()
    await assert_problem(await client.get("/nowhere"), 404, "not_found")
    wrong = await client.delete("/echo")
    await assert_problem(wrong, 405, "method_not_allowed")
    assert "POST" in wrong.headers["Allow"]
    crash = await assert_problem(await client.get("/boom"), 500, "internal_error")
    assert "secret internals" not in json.dumps(crash)


async def test_error_headers_are_kept() -> None:
    response = await APP.test_client().get("/limited")
    await assert_problem(response, 429, "rate_limited")
    assert response.headers["Retry-After"] == "3"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=json_values)
async def test_any_json_is_answered_without_a_500(payload: Any) -> None:
    response = await APP.test_client().post("/echo", json=payload)
    assert response.status_code in (201, 400)
    if response.status_code == 400:
        await assert_problem(response, 400, "invalid_input")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=2048), content_type=st.sampled_from(["application/json", "x/y"]))
async def test_any_bytes_are_answered_without_a_500(raw: bytes, content_type: str) -> None:
    response = await APP.test_client().post(
        "/echo", data=raw, headers={"Content-Type": content_type}
    )
    assert response.status_code in (201, 400, 415)
    assert response.status_code == 201 or response.headers["Content-Type"] == (
        "application/problem+json"
    )


@settings(max_examples=100, deadline=None)
@given(request_id=st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=200))
async def test_any_request_id_header_is_safe(request_id: str) -> None:
    response = await APP.test_client().get("/nowhere", headers={"X-Request-ID": request_id})
    echoed = response.headers["X-Request-ID"]
    visible = 0 < len(request_id) <= 128 and all(33 <= ord(c) <= 126 for c in request_id)
    assert (echoed == request_id) is visible


async def test_a_generated_request_id_is_a_random_uuid4_in_hex() -> None:
    generated = [
        (await APP.test_client().get("/nowhere")).headers["X-Request-ID"] for _ in range(50)
    ]
    assert len(set(generated)) == len(generated)
    for value in generated:
        parsed = uuid.UUID(hex=value)
        assert (parsed.hex, parsed.version, parsed.variant) == (value, 4, uuid.RFC_4122)
