"""Redis goes away: actions keep routing on the snapshot, local limits and local breakers."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from quart import Quart

from flask_core.router_only.embedded import EmbeddedRedis
from router.settings import RouterSettings
from tests.support.keys import KeyFactory
from tests.support.routers import running_router
from tests.support.servers import serve_app
from tests.support.standin import Behaviour, registration, standin_app
from tests.support.waiting import eventually

from .conftest import Caller


async def test_actions_route_while_redis_is_down(
    outage_app: Quart, own_redis: EmbeddedRedis, api_key: KeyFactory
) -> None:
    caller = Caller(
        outage_app, await api_key("user", app=outage_app), await api_key("admin", app=outage_app)
    )
    behaviour = Behaviour()
    async with serve_app(standin_app("i1", behaviour)) as url:
        assert await caller.register(registration("mod", url)) == 201
        assert (await caller.call()).status_code == 200
        await asyncio.to_thread(own_redis.stop)

        response = await caller.call()
        assert response.status_code == 200
        assert "RateLimit-Policy" in response.headers  # counted per process meanwhile
        behaviour.status = 500
        statuses = [(await caller.call()).status_code for _ in range(4)]
        assert statuses == [502, 502, 502, 503]  # this process's own breaker opened

        await asyncio.to_thread(own_redis.start)
        behaviour.status = 200
        reset = await outage_app.test_client().post(
            "/api/v1/admin/modules/mod/instances/i1/breaker/reset",
            headers={"X-API-Key": caller.admin},
        )
        assert reset.status_code == 200
        assert (await caller.call()).status_code == 200


async def test_registry_changes_reach_other_routers_while_redis_is_down(
    outage_app: Quart, own_redis: EmbeddedRedis, settings: RouterSettings, api_key: KeyFactory
) -> None:
    async with running_router(replace(settings, redis_url=own_redis.url)) as other:
        caller = Caller(outage_app, "", await api_key("admin", app=outage_app))
        await asyncio.to_thread(own_redis.stop)
        assert await caller.register(registration("mod", "http://127.0.0.1:9")) == 201
        registry = other.extensions["router"].registry
        await eventually(lambda: registry.action("mod.echo", "c1") is not None, timeout=4.0)
        assert registry.action("mod.echo", "c1") is not None  # reloaded from PostgreSQL
        await asyncio.to_thread(own_redis.start)
