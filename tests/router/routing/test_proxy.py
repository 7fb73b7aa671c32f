"""ANY /api/v1/services/{module}/{path} and GET /api/v1/health/services (SPEC §3, §4)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from quart import Quart, Response, request

from flask_core.tokens import verify_router_token
from router.settings import RouterSettings
from tests.support.keys import KeyFactory
from tests.support.servers import serve_app
from tests.support.standin import registration

ENDPOINTS = ["/stats", "/notes/add"]


@pytest.fixture
def settings(settings: RouterSettings) -> RouterSettings:
    return replace(settings, proxy_timeout_ms=300)


@dataclass
class Steer:
    """What the service answers next, and what it received."""

    status: int = 200
    body: bytes = b"plain text, not JSON"
    content_type: str = "text/plain; charset=utf-8"
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    seen: list[dict[str, Any]] = field(default_factory=list)


def service_app(steer: Steer) -> Quart:
    app = Quart("service")

    @app.get("/health")
    async def health() -> Response:
        return Response('{"status": "healthy"}', content_type="application/json")

    @app.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def anything(path: str) -> Response:
        steer.seen.append(
            {
                "method": request.method,
                "path": f"/{path}",
                "query": request.query_string.decode(),
                "headers": dict(request.headers),
                "body": await request.get_data(True, False, False),
            }
        )
        if steer.delay:
            await asyncio.sleep(steer.delay)
        return Response(
            steer.body, steer.status, content_type=steer.content_type, headers=steer.headers
        )

    return app


@dataclass
class Service:
    steer: Steer
    key: str
    admin: str
    app: Quart

    async def call(self, path: str, method: str = "GET", **kwargs: Any) -> Any:
        headers = {"X-API-Key": self.key, "X-Community-ID": "c1", **kwargs.pop("headers", {})}
        return await self.app.test_client().open(
            f"/api/v1/services/svc{path}", method=method, headers=headers, **kwargs
        )


@pytest.fixture
async def service(app: Quart, api_key: KeyFactory) -> AsyncIterator[Service]:
    steer = Steer()
    admin = await api_key("admin")
    async with serve_app(service_app(steer)) as url:
        # By name, not address: a cookie jar keeps no cookie set by an IP address.
        named = url.replace("127.0.0.1", "localhost")
        body = {**registration("svc", named, actions=()), "endpoints": ENDPOINTS}
        answer = await app.test_client().post(
            "/api/v1/register", json=body, headers={"X-API-Key": admin}
        )
        assert answer.status_code == 201
        key = await api_key("user", communities=["c1"])
        yield Service(steer, key, admin, app)


async def test_a_registered_endpoint_answers_unchanged_with_a_signed_call(
    app: Quart, service: Service
) -> None:
    response = await service.call(
        "/stats?window=1h&x=a%20b", headers={"X-Request-ID": "req-7", "X-User-ID": "twitch:42"}
    )
    assert response.status_code == 200
    assert await response.get_data() == b"plain text, not JSON"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "RateLimit" in response.headers
    (seen,) = service.steer.seen
    assert seen["method"] == "GET" and seen["path"] == "/stats"
    assert seen["query"] == "window=1h&x=a%20b"
    assert seen["headers"]["X-Community-Id"] == "c1"
    assert seen["headers"]["X-Request-Id"] == "req-7"
    token = seen["headers"]["Authorization"].removeprefix("Bearer ")
    jwks = app.extensions["router"].signing_key.jwks()
    claims = verify_router_token(token, jwks, audience="svc")
    assert claims["action_id"] == "service:/stats" and claims["community_id"] == "c1"
    assert claims["sub"] == "twitch:42"


async def test_method_body_and_content_type_are_forwarded(service: Service) -> None:
    service.steer.status, service.steer.content_type = 201, "application/json"
    service.steer.body = b'{"id": 3}'
    response = await service.call(
        "/notes/add", "PUT", data=b"a=1&b=2", headers={"Content-Type": "text/x-form"}
    )
    assert response.status_code == 201 and await response.get_json() == {"id": 3}
    (seen,) = service.steer.seen
    assert seen["method"] == "PUT" and seen["body"] == b"a=1&b=2"
    assert seen["headers"]["Content-Type"] == "text/x-form"
    token = seen["headers"]["Authorization"].removeprefix("Bearer ")
    assert token.count(".") == 2


async def test_a_cookie_a_module_sets_never_rides_along_on_later_calls(service: Service) -> None:
    service.steer.headers = {"Set-Cookie": "session=secret-of-the-first-caller; Path=/"}
    assert (await service.call("/stats")).status_code == 200
    assert (await service.call("/stats")).status_code == 200
    assert [seen["headers"].get("Cookie") for seen in service.steer.seen] == [None, None]


async def test_module_client_errors_pass_through(service: Service) -> None:
    service.steer.status, service.steer.body = 404, b"no such note"
    response = await service.call("/stats")
    assert response.status_code == 404 and await response.get_data() == b"no such note"
    assert response.headers["Content-Type"].startswith("text/plain")


async def test_only_registered_endpoints_of_known_modules_are_reachable(
    service: Service,
) -> None:
    for path in ("/health", "/admin", "/stats/more"):
        response = await service.call(path)
        assert response.status_code == 404
        assert (await response.get_json())["error"] == "not_found"
    missing = await service.app.test_client().get(
        "/api/v1/services/nope/stats", headers={"X-API-Key": service.key, "X-Community-ID": "c1"}
    )
    assert missing.status_code == 404
    assert service.steer.seen == []


async def test_roles_and_scope(service: Service, api_key: KeyFactory) -> None:
    assert (await service.call("/stats", headers={"X-API-Key": "rh_nope"})).status_code == 401
    unscoped = await service.app.test_client().get(
        "/api/v1/services/svc/stats", headers={"X-API-Key": service.key}
    )
    assert unscoped.status_code == 400
    assert (await unscoped.get_json())["error"] == "missing_community"
    other = await api_key("user", communities=["c2"])
    refused = await service.call("/stats", headers={"X-API-Key": other})
    assert refused.status_code == 403 and (await refused.get_json())["error"] == "forbidden"
    for role in ("trigger", "action", "core", "admin"):
        key = await api_key(role, communities=["c1"])
        assert (await service.call("/stats", headers={"X-API-Key": key})).status_code == 200
    bad_user = await service.call("/stats", headers={"X-User-ID": "not a user"})
    assert bad_user.status_code == 400
    assert len(service.steer.seen) == 4


async def test_failures_map_as_for_actions_and_open_the_breaker(service: Service) -> None:
    service.steer.status = 500
    failed = await service.call("/stats")
    assert failed.status_code == 502 and (await failed.get_json())["error"] == "upstream_error"
    service.steer.status, service.steer.delay = 200, 1.0
    late = await service.call("/stats")
    assert late.status_code == 504 and (await late.get_json())["error"] == "upstream_timeout"
    service.steer.delay, service.steer.status = 0.0, 503
    assert (await service.call("/stats")).status_code == 502  # third failure in a row
    calls = len(service.steer.seen)
    opened = await service.call("/stats")
    assert opened.status_code == 503
    assert (await opened.get_json())["error"] == "module_unavailable"
    assert int(opened.headers["Retry-After"]) >= 1
    assert len(service.steer.seen) == calls  # an open breaker does not call the module


async def test_health_of_services_aggregates_the_registry(
    service: Service, api_key: KeyFactory
) -> None:
    headers = {"X-API-Key": await api_key("core")}
    client = service.app.test_client()
    body = await (await client.get("/api/v1/health/services", headers=headers)).get_json()
    assert body == {
        "status": "healthy",
        "services": {"svc": {"status": "healthy", "healthy_instances": 1, "instances": 1}},
    }
    second = {**registration("other", "http://127.0.0.1:9", actions=()), "instance_id": "o1"}
    await client.post("/api/v1/register", json=second, headers={"X-API-Key": service.admin})
    gone = await client.delete(
        "/api/v1/modules/other/instances/o1", headers={"X-API-Key": service.admin}
    )
    assert gone.status_code == 204
    body = await (await client.get("/api/v1/health/services", headers=headers)).get_json()
    assert body["status"] == "degraded"
    assert body["services"]["other"] == {
        "status": "unavailable",
        "healthy_instances": 0,
        "instances": 0,
    }
    user = await client.get("/api/v1/health/services", headers={"X-API-Key": service.key})
    assert user.status_code == 403
