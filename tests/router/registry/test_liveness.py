"""Leases, active health checks, and one registry shared by several router apps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from quart import Quart

from router.settings import RouterSettings
from tests.support.keys import KeyFactory
from tests.support.routers import running_router
from tests.support.servers import serve_app
from tests.support.standin import Behaviour, registration, standin_app
from tests.support.waiting import eventually, let_time_pass, wait_until

ACTION_HEADERS = {"X-Community-ID": "c1"}
CALL = {"user_id": "twitch:1", "params": {}}


async def call_status(app: Quart, key: str) -> int:
    response = await app.test_client().post(
        "/api/v1/action/mod.echo", json=CALL, headers={"X-API-Key": key, **ACTION_HEADERS}
    )
    return response.status_code


async def test_a_missed_lease_stops_calls_until_the_module_registers_again(
    settings: RouterSettings, api_key: KeyFactory
) -> None:
    behaviour = Behaviour()
    async with (
        running_router(replace(settings, lease_ttl_seconds=1)) as app,
        serve_app(standin_app("mod", behaviour)) as url,
    ):
        key = await api_key("admin", app=app)
        client = app.test_client()
        body = registration("mod", url)
        assert (
            await client.post("/api/v1/register", json=body, headers={"X-API-Key": key})
        ).status_code == 201
        assert await call_status(app, key) == 200

        async def lease_lapsed() -> bool:  # no heartbeat: the 1 s lease runs out
            return await call_status(app, key) == 503

        await wait_until(lease_lapsed, timeout=5.0)
        assert await call_status(app, key) == 503
        beat = await client.post(
            "/api/v1/modules/mod/instances/i1/heartbeat", headers={"X-API-Key": key}
        )
        assert beat.status_code == 404
        again = await client.post("/api/v1/register", json=body, headers={"X-API-Key": key})
        assert again.status_code == 200
        assert await call_status(app, key) == 200


async def test_failed_health_checks_take_an_instance_out_and_recovery_brings_it_back(
    app: Quart, api_key: KeyFactory
) -> None:
    behaviour = Behaviour()
    key = await api_key("admin")
    client = app.test_client()
    async with serve_app(standin_app("mod", behaviour)) as url:
        await client.post(
            "/api/v1/register", json=registration("mod", url), headers={"X-API-Key": key}
        )

        async def instance_status() -> str:
            response = await client.get("/api/v1/modules/mod", headers={"X-API-Key": key})
            return str((await response.get_json())["instances"][0]["status"])

        behaviour.healthy = False
        assert await eventually(lambda: _is(instance_status, "unavailable"))
        assert await call_status(app, key) == 503
        module = await (
            await client.get("/api/v1/modules/mod", headers={"X-API-Key": key})
        ).get_json()
        assert module["status"] == "unavailable"
        behaviour.healthy = True
        assert await eventually(lambda: _is(instance_status, "healthy"))
        assert await call_status(app, key) == 200


async def test_a_health_check_that_hangs_counts_as_a_failure(
    app: Quart, api_key: KeyFactory
) -> None:
    behaviour = Behaviour(health_delay=2.0)  # longer than the 0.5 s health-check timeout
    key = await api_key("admin")
    client = app.test_client()
    async with serve_app(standin_app("mod", behaviour)) as url:
        await client.post(
            "/api/v1/register", json=registration("mod", url), headers={"X-API-Key": key}
        )
        registry = app.extensions["router"].registry

        async def unavailable() -> bool:
            return not registry.module("mod").instances[0].healthy

        assert await eventually(unavailable)
        assert await call_status(app, key) == 503


async def _is(getter: Callable[[], Awaitable[str]], wanted: str) -> bool:
    return await getter() == wanted


async def test_a_change_through_one_router_is_seen_by_another_within_a_second(
    app: Quart, settings: RouterSettings, api_key: KeyFactory
) -> None:
    key = await api_key("admin")
    async with running_router(settings) as other:
        body = registration("mod", "http://127.0.0.1:9")
        response = await app.test_client().post(
            "/api/v1/register", json=body, headers={"X-API-Key": key}
        )
        assert response.status_code == 201
        registry = other.extensions["router"].registry
        assert await eventually(lambda: _known(registry, "mod.echo"), timeout=1.0)
        gone = await other.test_client().delete(
            "/api/v1/modules/mod/instances/i1", headers={"X-API-Key": key}
        )
        assert gone.status_code == 204
        first = app.extensions["router"].registry

        async def no_instances() -> bool:
            module = first.module("mod")
            return module is not None and not module.instances

        assert await eventually(no_instances, timeout=1.0)


async def _known(registry: object, action_id: str) -> bool:
    return registry.action(action_id, "c1") is not None  # type: ignore[attr-defined]


async def test_each_instance_is_probed_by_one_router_per_interval(
    app: Quart, settings: RouterSettings, api_key: KeyFactory
) -> None:
    behaviour = Behaviour()
    key = await api_key("admin")
    async with running_router(settings), serve_app(standin_app("mod", behaviour)) as url:
        await app.test_client().post(
            "/api/v1/register", json=registration("mod", url), headers={"X-API-Key": key}
        )
        behaviour.health_checks = 0
        await let_time_pass(3.0)  # three probe intervals
    # Two routers probing every second for 3 s: one probe per interval, not two.
    assert 1 <= behaviour.health_checks <= 4
