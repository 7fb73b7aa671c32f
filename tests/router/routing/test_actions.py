"""POST /api/v1/action/{action_id}: the call a module receives and every failure of SPEC §5."""

from __future__ import annotations

from flask_core.tokens import verify_router_token

from .conftest import Caller, Module


async def test_a_call_reaches_the_module_signed_and_returns_its_result(
    caller: Caller, module: Module
) -> None:
    module.behaviour.body = {"quote": "hello"}
    response = await caller.call()
    assert response.status_code == 200
    body = await response.get_json()
    assert body["success"] is True and body["action_id"] == "mod.echo"
    assert body["result"] == {"quote": "hello"} and body["execution_time_ms"] >= 0
    (received,) = module.behaviour.calls
    assert received["body"] == {
        "action_id": "mod.echo",
        "community_id": "c1",
        "user_id": "twitch:42",
        "context": {"channel": "x"},
        "params": {"n": 1},
    }
    headers = received["headers"]
    assert headers["X-Community-Id"] == "c1" and headers["X-Request-Id"] == "req-1"
    jwks = await (await caller.app.test_client().get("/.well-known/jwks.json")).get_json()
    token = headers["Authorization"].removeprefix("Bearer ")
    claims = verify_router_token(token, jwks, audience="mod")
    assert claims["sub"] == "twitch:42" and claims["community_id"] == "c1"
    assert claims["action_id"] == "mod.echo" and claims["exp"] - claims["iat"] <= 60


async def test_jwks_is_okp_ed25519_with_kid(caller: Caller) -> None:
    response = await caller.app.test_client().get("/.well-known/jwks.json")
    (key,) = (await response.get_json())["keys"]
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["kid"] and "d" not in key


async def test_unknown_action_is_404(caller: Caller) -> None:
    response = await caller.call("nobody.knows")
    assert response.status_code == 404
    assert (await response.get_json())["error"] == "not_found"


async def test_bad_user_id_and_missing_community_are_400(caller: Caller, module: Module) -> None:
    assert (await caller.call(user_id="no colon")).status_code == 400
    response = await caller.app.test_client().post(
        "/api/v1/action/mod.echo", json={"user_id": "twitch:1"}, headers={"X-API-Key": caller.key}
    )
    assert (await response.get_json())["error"] == "missing_community"
    assert module.behaviour.calls == []


async def test_a_slow_module_is_504(caller: Caller, module: Module) -> None:
    module.behaviour.delay = 0.6
    response = await caller.call()
    assert response.status_code == 504
    assert (await response.get_json())["error"] == "upstream_timeout"


async def test_module_5xx_and_garbage_are_502(caller: Caller, module: Module) -> None:
    module.behaviour.status = 500
    response = await caller.call()
    assert response.status_code == 502
    assert (await response.get_json())["error"] == "upstream_error"
    module.behaviour.status, module.behaviour.raw = 200, b"{not json"
    assert (await caller.call()).status_code == 502


async def test_module_4xx_is_passed_through_with_its_status(caller: Caller, module: Module) -> None:
    module.behaviour.status = 422
    module.behaviour.body = {"detail": "text is required"}
    response = await caller.call()
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    body = await response.get_json()
    assert body["status"] == 422 and body["detail"] == "text is required"
    for _ in range(4):  # a module that judges requests is healthy: the breaker stays closed
        assert (await caller.call()).status_code == 422


async def test_no_live_instance_is_503_with_retry_after(caller: Caller, module: Module) -> None:
    gone = await caller.app.test_client().delete(
        "/api/v1/modules/mod/instances/i1", headers={"X-API-Key": caller.admin}
    )
    assert gone.status_code == 204
    response = await caller.call()
    assert response.status_code == 503
    assert (await response.get_json())["error"] == "module_unavailable"
    assert int(response.headers["Retry-After"]) >= 1


async def test_an_unreachable_module_is_502(caller: Caller) -> None:
    from tests.support.servers import free_port
    from tests.support.standin import registration

    await caller.register(registration("mod", f"http://127.0.0.1:{free_port()}"))
    assert (await caller.call()).status_code == 502


async def test_action_responses_carry_rate_limit_headers(caller: Caller, module: Module) -> None:
    response = await caller.call()
    assert '"key";q=600;w=60' in response.headers["RateLimit-Policy"]
    assert '"community";q=6000;w=60' in response.headers["RateLimit-Policy"]
    assert '"user";q=60;w=60' in response.headers["RateLimit-Policy"]
    assert response.headers["X-RateLimit-Limit"] == "60"
    assert response.headers["X-RateLimit-Remaining"] == "59"
    assert '"user";r=59;t=' in response.headers["RateLimit"]
