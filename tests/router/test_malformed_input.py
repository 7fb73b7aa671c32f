"""No input, however malformed, gets a 500 or a non-problem error from any router route."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quart import Quart

from tests.support.keys import KeyFactory

_PARAM = re.compile(r"<(?:[a-z]+:)?[a-z_]+>")
text = st.text(max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=5),
    max_leaves=25,
)
# Bodies shaped like the real ones, with wrong types and odd values in their fields.
FIELDS = [
    "module_id",
    "module_version",
    "module_type",
    "base_url",
    "port",
    "actions",
    "commands",
    "subscriptions",
    "user_id",
    "params",
    "context",
    "platform",
    "type",
    "payload",
    "event_id",
    "occurred_at",
    "events",
    "name",
    "role",
    "communities",
    "expires_at",
    "rate_limit",
    "grace_seconds",
    "channel_id",
    "id",
    "text",
]
shaped_bodies = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8)


def post_routes(app: Quart) -> list[str]:
    return sorted(
        _PARAM.sub("x1", rule.rule)
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or set())
    )


@pytest.fixture
async def keys(app: Quart, api_key: KeyFactory) -> dict[str, str]:
    return {"admin": await api_key("admin"), "core": await api_key("core")}


ROUTE_NUMBER = st.integers(min_value=0, max_value=10_000)


# The app and keys are built once and shared by every example, on purpose.
@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(number=ROUTE_NUMBER, body=json_values | shaped_bodies)
async def test_fuzzed_bodies_on_every_post_route(
    app: Quart, keys: dict[str, str], number: int, body: Any
) -> None:
    routes = post_routes(app)
    assert len(routes) >= 10
    route = routes[number % len(routes)]
    key = keys["admin"] if "/admin/" in route else keys["core"]
    headers = {"X-API-Key": key, "X-Community-ID": "c1"}
    response = await app.test_client().post(route, json=body, headers=headers)
    assert response.status_code < 500, (route, body, await response.get_data())
    if response.status_code >= 400:
        assert response.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Community-ID": "bad id!"},
        {"X-Community-ID": "x" * 65},
        {"X-Community-ID": ""},
        {"X-API-Key": "\u00e9\u00e9"},
        {"X-API-Key": "rh_" + "a" * 5000},
        {"Content-Type": "application/json; charset=utf-16"},
        {"Content-Type": "multipart/form-data; boundary=x"},
    ],
)
async def test_odd_headers(app: Quart, keys: dict[str, str], headers: dict[str, str]) -> None:
    merged = {"X-API-Key": keys["core"], "X-Community-ID": "c1", **headers}
    response = await app.test_client().post(
        "/api/v1/events", data=b'{"platform": "twitch"}', headers=merged
    )
    assert 400 <= response.status_code < 500
    assert response.headers["Content-Type"] == "application/problem+json"
