"""Redis goes away and comes back: keys keep authenticating, revocation keeps its bound."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import replace

import pytest
import redis.asyncio as aioredis
from quart import Quart

from flask_core.router_only.embedded import EmbeddedRedis
from router.app import create_app
from router.keys.service import INVALIDATE_CHANNEL
from router.settings import RouterSettings
from router.state import RouterState
from tests.support.keys import KeyFactory
from tests.support.proxy import PostgresProxy
from tests.support.waiting import eventually, let_time_pass

RESOLVE = "/api/v1/communities/resolve?platform=twitch&channel_id=1"


@pytest.fixture
async def pair(
    settings: RouterSettings, own_redis: EmbeddedRedis
) -> AsyncIterator[tuple[Quart, Quart]]:
    async with AsyncExitStack() as stack:
        apps = [create_app(replace(settings, redis_url=own_redis.url)) for _ in range(2)]
        for application in apps:
            await stack.enter_async_context(application.test_app())
        yield apps[0], apps[1]


async def _status(app: Quart, key: str) -> int:
    return (await app.test_client().get(RESOLVE, headers={"X-API-Key": key})).status_code


async def _eventually_401(app: Quart, key: str, seconds: float) -> bool:
    async def refused() -> bool:
        return await _status(app, key) == 401

    return await eventually(refused, timeout=seconds)


async def _revoke(app: Quart, admin: str, key: str) -> None:
    state: RouterState = app.extensions["router"]
    principal = await state.keys.authenticator.authenticate(key)
    assert principal is not None
    response = await app.test_client().delete(
        f"/api/v1/admin/keys/{principal.key_id}", headers={"X-API-Key": admin}
    )
    assert response.status_code == 204


async def test_revocation_holds_through_a_redis_outage_and_pubsub_resumes(
    pair: tuple[Quart, Quart], own_redis: EmbeddedRedis, api_key: KeyFactory
) -> None:
    first, second = pair
    admin = await api_key("admin", app=first)
    victims = [await api_key("core", app=first) for _ in range(2)]
    assert await _status(second, victims[0]) == 404

    await asyncio.to_thread(own_redis.stop)
    await _revoke(first, admin, victims[0])  # the publish fails; the revocation does not
    await let_time_pass(1.0)  # the cache bound covers the lost message
    assert await _status(second, victims[0]) == 401
    assert await _status(second, victims[1]) == 404  # keys still authenticate without Redis

    await asyncio.to_thread(own_redis.start)
    probe = aioredis.Redis.from_url(own_redis.url)
    try:

        async def both_listening() -> bool:  # both listeners subscribed again
            return await probe.publish(INVALIDATE_CHANNEL, "probe") >= 2

        await eventually(both_listening, interval=0.05)
    finally:
        await probe.aclose()
    second_state: RouterState = second.extensions["router"]
    second_state.keys.authenticator.ttl = 60.0  # from here only pub/sub can evict the entry
    assert await _status(second, victims[1]) == 404
    await _revoke(first, admin, victims[1])
    assert await _eventually_401(second, victims[1], seconds=5.0)


async def test_with_postgres_and_redis_both_away_a_key_this_process_holds_still_works(
    settings: RouterSettings, own_redis: EmbeddedRedis, api_key: KeyFactory
) -> None:
    assert settings.database_url
    chat = {
        "platform": "twitch",
        "type": "chat.message",
        "channel_id": "c",
        "user_id": "t:1",
        "payload": {"text": "hi"},
    }
    async with PostgresProxy(settings.database_url) as proxy:
        application = create_app(replace(settings, redis_url=own_redis.url, database_url=proxy.url))
        async with application.test_app():
            trigger = await api_key("trigger", communities=["c1"], app=application)
            client = application.test_client()

            async def send(key: str) -> int:
                headers = {"X-API-Key": key, "X-Community-ID": "c1"}
                return (await client.post("/api/v1/events", json=chat, headers=headers)).status_code

            assert await send(trigger) == 202
            await asyncio.to_thread(own_redis.stop)
            await proxy.cut()
            state: RouterState = application.extensions["router"]
            state.keys.authenticator.invalidate()
            assert await send(trigger) == 202  # spooled, authenticated from this process
            # Absence from this process's copy proves nothing: try again later, not 401.
            assert await send("rh_0123456789ab_" + "x" * 43) == 503
            await proxy.start()
            await asyncio.to_thread(own_redis.start)
