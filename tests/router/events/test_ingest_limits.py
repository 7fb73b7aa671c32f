"""POST /api/v1/events decides its quotas and the accept in one step: exact across workers, and
an event a quota refuses is never appended (nor counted against the other quotas)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import redis.asyncio as aioredis

from flask_core.keyspace import DEFAULT_KEYSPACE
from router.settings import RouterSettings
from tests.conftest import KeyFactory
from tests.support.routers import running_router
from tests.support.stores import ALL_REDIS_MODES

pytestmark = ALL_REDIS_MODES

EVENT = {"platform": "twitch", "type": "chat.message", "payload": {"text": "hello"}}


def _remaining(response: Any, policy: str) -> int:
    found = re.search(rf'"{policy}";r=(\d+)', response.headers["RateLimit"])
    assert found is not None, response.headers["RateLimit"]
    return int(found.group(1))


async def test_the_key_quota_is_exact_across_two_routers_and_refused_events_are_not_kept(
    settings: RouterSettings, api_key: KeyFactory, redis: aioredis.Redis
) -> None:
    async with running_router(settings) as first, running_router(settings) as second:
        key = await api_key("trigger", communities=["c1"], rate_limit="4/minute", app=first)
        headers = {"X-API-Key": key, "X-Community-ID": "c1"}
        clients = [first.test_client(), second.test_client()]
        statuses = []
        for index in range(7):
            response = await clients[index % 2].post("/api/v1/events", json=EVENT, headers=headers)
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert int(response.headers["Retry-After"]) >= 1
                assert _remaining(response, "key") == 0
    assert statuses == [202] * 4 + [429] * 3
    assert await redis.xlen(DEFAULT_KEYSPACE.event_stream("c1")) == 4


async def test_a_user_over_quota_is_refused_without_using_up_the_key(
    settings: RouterSettings, api_key: KeyFactory, redis: aioredis.Redis
) -> None:
    # On a cluster the key's quota is another slot's step: it gets its hit back.
    async with running_router(replace(settings, rate_limit_user="2/minute")) as app:
        key = await api_key("trigger", communities=["c1"], rate_limit="10/minute", app=app)
        headers = {"X-API-Key": key, "X-Community-ID": "c1"}
        client = app.test_client()
        user = {**EVENT, "user_id": "twitch:1"}
        statuses = [
            (await client.post("/api/v1/events", json=user, headers=headers)).status_code
            for _ in range(4)
        ]
        other = await client.post("/api/v1/events", json=EVENT, headers=headers)
    assert statuses == [202, 202, 429, 429]
    assert other.status_code == 202
    assert _remaining(other, "key") == 10 - 3  # the two refused requests were not counted
    assert await redis.xlen(DEFAULT_KEYSPACE.event_stream("c1")) == 3


async def test_a_duplicate_counts_against_the_quotas_and_appends_nothing(
    settings: RouterSettings, api_key: KeyFactory, redis: aioredis.Redis
) -> None:
    async with running_router(settings) as app:
        key = await api_key("trigger", communities=["c1"], rate_limit="3/minute", app=app)
        headers = {"X-API-Key": key, "X-Community-ID": "c1"}
        client = app.test_client()
        body = {**EVENT, "event_id": "2f6c1a8e-0b4d-4c1e-9f3a-7d2b5e8c1a90"}
        answers = [
            await client.post("/api/v1/events", json=body, headers=headers) for _ in range(4)
        ]
    assert [a.status_code for a in answers] == [202, 200, 200, 429]
    assert [_remaining(a, "key") for a in answers] == [2, 1, 0, 0]
    assert await redis.xlen(DEFAULT_KEYSPACE.event_stream("c1")) == 1
