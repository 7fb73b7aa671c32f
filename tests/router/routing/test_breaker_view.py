"""The local view of the breakers (kept in step by ``system.breaker``) and the probe an
instance gets at once when it shows it is alive again."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import pytest
import redis.asyncio as aioredis
from quart import Quart

from flask_core.keyspace import tag
from router.settings import RouterSettings
from tests.support.keys import KeyFactory
from tests.support.routers import running_router
from tests.support.servers import serve_app
from tests.support.standin import Behaviour, registration, standin_app
from tests.support.stores import ALL_REDIS_MODES
from tests.support.waiting import wait_until

from .conftest import POLICY, Caller, Module
from .test_breakers import audited_transitions, breaker_of, open_breaker

pytestmark = ALL_REDIS_MODES

# A back-off far longer than any test: a call that gets through came by an early probe.
SLOW = replace(POLICY, base_backoff_seconds=60.0, max_backoff_seconds=60.0)


@pytest.fixture
def settings(settings: RouterSettings) -> RouterSettings:
    return replace(settings, breaker=SLOW)


def heard_by(app: Quart) -> list[dict[str, Any]]:
    """What ``app`` hears on ``system.breaker`` from now on (after its own breakers did)."""
    heard: list[dict[str, Any]] = []
    app.extensions["router"].registry.on_breaker_message(heard.append)
    return heard


async def forget_in_redis(redis: aioredis.Redis, settings: RouterSettings, name: str) -> None:
    """Drop a breaker's shared state without any announcement."""
    key = settings.keyspace.breaker_prefix + tag("b", name)
    await redis.delete(key)
    await redis.delete(f"{key}:window")


async def test_a_breaker_opened_through_one_router_is_open_in_the_others_view(
    caller: Caller,
    module: Module,
    settings: RouterSettings,
    api_key: KeyFactory,
    redis: aioredis.Redis,
) -> None:
    async with running_router(replace(settings)) as other:
        other_caller = Caller(
            other, await api_key("user", app=other), await api_key("admin", app=other)
        )
        assert (await other_caller.call()).status_code == 200
        heard = heard_by(other)
        await open_breaker(caller, module)
        await wait_until(lambda: any(body.get("to") == "open" for body in heard))
        # Redis forgets the breaker, silently: the other router answers from what it heard.
        await forget_in_redis(redis, settings, "mod/i1")
        calls = len(module.behaviour.calls)
        refused = await other_caller.call()
        assert refused.status_code == 503
        assert 50 <= int(refused.headers["Retry-After"]) <= 60  # the announced back-off
        assert len(module.behaviour.calls) == calls


async def test_an_announcement_alone_changes_the_view(
    caller: Caller, module: Module, settings: RouterSettings, redis: aioredis.Redis
) -> None:
    assert (await caller.call()).status_code == 200  # seen closed
    heard = heard_by(caller.app)
    now_ms = int(time.time() * 1000)
    announcement = {
        "breaker": "mod/i1",
        "module_id": "mod",
        "instance_id": "i1",
        "from": "closed",
        "to": "open",
        "at_ms": now_ms,
        "open_until_ms": now_ms + 30_000,
    }
    await redis.publish(settings.keyspace.breaker_channel, json.dumps(announcement))
    await wait_until(lambda: bool(heard))
    calls = len(module.behaviour.calls)
    refused = await caller.call()  # Redis still holds it closed; the view says open
    assert refused.status_code == 503
    assert 20 <= int(refused.headers["Retry-After"]) <= 30
    assert len(module.behaviour.calls) == calls
    closing = {**announcement, "from": "open", "to": "closed"}
    await redis.publish(settings.keyspace.breaker_channel, json.dumps(closing))
    await wait_until(lambda: len(heard) == 2)
    assert (await caller.call()).status_code == 200


async def test_a_re_registered_instance_gets_its_probe_at_once(
    caller: Caller, module: Module
) -> None:
    await open_breaker(caller, module)
    assert (await caller.call()).status_code == 503
    module.behaviour.status = 200
    assert await caller.register(registration("mod", module.url, timeout_ms=300)) == 200
    assert await breaker_of(caller) == "half_open"
    assert (await caller.call()).status_code == 200  # the probe, 60 s before the back-off ends
    assert (await caller.call()).status_code == 200
    assert await breaker_of(caller) == "closed"

    async def three_audited() -> bool:
        return len(await audited_transitions(caller)) == 3

    await wait_until(three_audited, what="three transitions audited")
    items = await audited_transitions(caller)  # newest first
    assert [(i["details"]["from"], i["details"]["to"], i["reason"]) for i in items] == [
        ("half_open", "closed", None),
        ("open", "half_open", "instance back"),
        ("closed", "open", None),
    ]


async def test_a_re_registration_leaves_a_closed_breaker_alone(
    caller: Caller, module: Module
) -> None:
    assert (await caller.call()).status_code == 200
    assert await caller.register(registration("mod", module.url, timeout_ms=300)) == 200
    assert await breaker_of(caller) == "closed"
    assert (await caller.call()).status_code == 200


async def test_an_instance_found_healthy_again_gets_its_probe_at_once(
    settings: RouterSettings, api_key: KeyFactory
) -> None:
    probing = replace(settings, health_interval_seconds=1, health_failures_to_down=1)
    behaviour = Behaviour()
    async with running_router(probing) as app, serve_app(standin_app("i1", behaviour)) as url:
        caller = Caller(app, await api_key("user", app=app), await api_key("admin", app=app))
        assert await caller.register(registration("mod", url, timeout_ms=300)) == 201
        await open_breaker(caller, Module(url, behaviour))

        async def instance_is(status: str) -> bool:
            response = await app.test_client().get(
                "/api/v1/modules/mod", headers={"X-API-Key": caller.admin}
            )
            return bool((await response.get_json())["instances"][0]["status"] == status)

        behaviour.healthy = False
        await wait_until(lambda: instance_is("unavailable"), what="the instance found down")
        behaviour.healthy, behaviour.status = True, 200
        await wait_until(lambda: instance_is("healthy"), what="the instance found up")

        async def half_open() -> bool:
            return await breaker_of(caller) == "half_open"

        await wait_until(half_open, what="the breaker half-open")
        assert (await caller.call()).status_code == 200  # long before the 60 s back-off ends
