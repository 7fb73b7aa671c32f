"""Circuit breakers on the action path: opening, failing fast, half-opening, closing, sharing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
import redis.asyncio as aioredis

from router.settings import RouterSettings
from tests.support.keys import KeyFactory
from tests.support.pubsub import PubSubCollector
from tests.support.routers import running_router
from tests.support.servers import serve_app
from tests.support.standin import Behaviour, registration, standin_app
from tests.support.stores import ALL_REDIS_MODES
from tests.support.waiting import let_time_pass, wait_until

from .conftest import Caller, Module

pytestmark = ALL_REDIS_MODES


async def breaker_of(caller: Caller) -> str:
    response = await caller.app.test_client().get(
        "/api/v1/modules/mod", headers={"X-API-Key": caller.admin}
    )
    return str((await response.get_json())["instances"][0]["breaker"])


async def audited_transitions(caller: Caller) -> list[dict[str, Any]]:
    """The breaker transitions in the audit trail (written in the background)."""
    response = await caller.app.test_client().get(
        "/api/v1/admin/audit?category=SYSTEM&action=breaker.transition",
        headers={"X-API-Key": caller.admin},
    )
    return list((await response.get_json())["items"])


async def open_breaker(caller: Caller, module: Module) -> None:
    module.behaviour.status = 500
    assert [(await caller.call()).status_code for _ in range(3)] == [502, 502, 502]


@pytest.fixture
async def announced(redis: aioredis.Redis) -> AsyncIterator[PubSubCollector]:
    """What is announced on ``system.breaker`` from here on."""
    async with PubSubCollector(redis, "system.breaker") as collector:
        yield collector


async def test_breaker_opens_fails_fast_half_opens_and_closes(
    caller: Caller, module: Module, announced: PubSubCollector
) -> None:
    await open_breaker(caller, module)
    assert await breaker_of(caller) == "open"
    calls_before = len(module.behaviour.calls)
    fast = await caller.call()
    assert fast.status_code == 503
    assert (await fast.get_json())["error"] == "module_unavailable"
    assert 1 <= int(fast.headers["Retry-After"]) <= 1
    assert len(module.behaviour.calls) == calls_before  # the module was not touched

    module.behaviour.status = 200
    await let_time_pass(0.5)  # the 0.4 s back-off ends
    assert (await caller.call()).status_code == 200  # the half-open probe
    assert await breaker_of(caller) == "half_open"
    assert (await caller.call()).status_code == 200  # second good probe closes it
    assert await breaker_of(caller) == "closed"

    seen = [
        (body["from"], body["to"], body["module_id"], body["instance_id"])
        for _, body in await announced.collect()
    ]
    assert seen == [
        ("closed", "open", "mod", "i1"),
        ("open", "half_open", "mod", "i1"),
        ("half_open", "closed", "mod", "i1"),
    ]


async def test_a_failed_probe_opens_the_breaker_again(caller: Caller, module: Module) -> None:
    await open_breaker(caller, module)
    await let_time_pass(0.5)  # the 0.4 s back-off ends
    assert (await caller.call()).status_code == 502
    assert await breaker_of(caller) == "open"
    assert (await caller.call()).status_code == 503


async def test_transitions_are_audited(caller: Caller, module: Module) -> None:
    await open_breaker(caller, module)
    await wait_until(lambda: audited_transitions(caller), what="the transition audited")
    items = await audited_transitions(caller)
    assert [(i["result"], i["details"]["to"], i["details"]["instance_id"]) for i in items] == [
        ("failure", "open", "i1")
    ]


async def test_an_admin_resets_an_open_breaker(caller: Caller, module: Module) -> None:
    await open_breaker(caller, module)
    module.behaviour.status = 200
    url = "/api/v1/admin/modules/mod/instances/i1/breaker/reset"
    user = await caller.app.test_client().post(url, headers={"X-API-Key": caller.key})
    assert user.status_code == 403
    reset = await caller.app.test_client().post(url, headers={"X-API-Key": caller.admin})
    assert reset.status_code == 200
    assert (await reset.get_json())["previous"] == "open"
    assert (await caller.call()).status_code == 200
    missing = await caller.app.test_client().post(
        "/api/v1/admin/modules/mod/instances/nope/breaker/reset",
        headers={"X-API-Key": caller.admin},
    )
    assert missing.status_code == 404


async def test_calls_spread_over_instances_and_skip_an_open_breaker(
    caller: Caller, module: Module
) -> None:
    second = Behaviour()
    async with serve_app(standin_app("i2", second)) as url:
        assert await caller.register(registration("mod", url, instance_id="i2")) == 201
        for _ in range(10):
            assert (await caller.call()).status_code == 200
        assert len(module.behaviour.calls) == 5 and len(second.calls) == 5
        second.status = 500
        statuses = [(await caller.call()).status_code for _ in range(12)]
        assert statuses.count(502) == 3  # i2 failed three times, then its breaker opened
        assert statuses.count(200) == 9
        before = len(second.calls)
        assert all([(await caller.call()).status_code == 200 for _ in range(6)])
        assert len(second.calls) == before


async def test_breaker_state_is_shared_by_two_routers(
    caller: Caller, module: Module, settings: RouterSettings, api_key: KeyFactory
) -> None:
    async with running_router(replace(settings)) as other:
        other_caller = Caller(
            other, await api_key("user", app=other), await api_key("admin", app=other)
        )
        assert (await other_caller.call()).status_code == 200  # the other router saw it closed
        heard: list[dict[str, Any]] = []
        other.extensions["router"].registry.on_breaker_message(heard.append)
        await open_breaker(caller, module)
        # The transition is announced on system.breaker; the other router drops its trust.
        await wait_until(lambda: any(body.get("to") == "open" for body in heard))
        calls = len(module.behaviour.calls)
        response = await other_caller.call()
        assert response.status_code == 503
        assert len(module.behaviour.calls) == calls
        assert await breaker_of(other_caller) == "open"
