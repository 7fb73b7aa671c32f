"""Rate limits (SPEC §6): exact across worker processes, headers on every limited response."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from quart import Quart

from router.settings import RouterSettings
from tests.support.keys import KeyFactory
from tests.support.processes import router_process as run_router
from tests.support.routers import running_router
from tests.support.stores import ALL_REDIS_MODES

pytestmark = ALL_REDIS_MODES


@pytest.fixture
async def router_process(settings: RouterSettings, app: Quart) -> AsyncIterator[str]:
    """``python -m router`` with two workers on the test's database, Redis and data dir."""
    async with run_router(settings, workers=2) as base_url:
        yield base_url


async def test_a_key_limited_to_20_a_minute_gets_exactly_20_of_50_across_two_workers(
    router_process: str, api_key: KeyFactory
) -> None:
    key = await api_key("core", rate_limit="20/minute")
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=router_process, limits=limits) as client:
        responses = await asyncio.gather(
            *(client.get("/api/v1/modules", headers={"X-API-Key": key}) for _ in range(50))
        )
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 20 and statuses.count(429) == 30
    for response in responses:
        assert response.headers["RateLimit-Policy"] == '"key";q=20;w=60'
        assert response.headers["X-RateLimit-Limit"] == "20"
        assert 0 < int(response.headers["X-RateLimit-Reset"]) <= 60
    denied = next(r for r in responses if r.status_code == 429)
    assert denied.json()["error"] == "rate_limited"
    assert denied.headers["X-RateLimit-Remaining"] == "0"
    assert denied.headers["RateLimit"].startswith('"key";r=0;t=')
    assert 0 < int(denied.headers["Retry-After"]) <= 60
    remaining = sorted(
        int(r.headers["X-RateLimit-Remaining"]) for r in responses if r.status_code == 200
    )
    assert remaining == list(range(20))


async def test_community_and_user_limits_apply_to_actions(
    settings: RouterSettings, api_key: KeyFactory
) -> None:
    limited = replace(settings, rate_limit_community="3/minute", rate_limit_user="2/minute")
    async with running_router(limited) as app:
        key = await api_key("user", app=app)
        client = app.test_client()

        async def call(community: str, user: str) -> int:
            return (await call_response(client, key, community, user)).status_code

        # 404: the limits let the call through to routing, which knows no such action.
        assert [await call("c1", "twitch:a") for _ in range(3)] == [404, 404, 429]
        # The refused call counted against nothing, so the community has one call left.
        assert await call("c1", "twitch:b") == 404
        denied = await call_response(client, key, "c1", "twitch:c")
        assert denied.status_code == 429  # the community's 3 are used up
        assert '"community";r=0;t=' in denied.headers["RateLimit"]
        assert '"user";r=2;t=' in denied.headers["RateLimit"]  # nothing was counted
        # Another community counts apart: twitch:a gets its 2 calls there too.
        assert [await call("c2", "twitch:a") for _ in range(3)] == [404, 404, 429]


async def call_response(client: Any, key: str, community: str, user: str) -> Any:
    return await client.post(
        "/api/v1/action/none.such",
        json={"user_id": user},
        headers={"X-API-Key": key, "X-Community-ID": community},
    )


async def test_an_invalid_action_call_still_counts_against_the_key(
    settings: RouterSettings, api_key: KeyFactory
) -> None:
    async with running_router(settings) as app:
        key = await api_key("user", rate_limit="2/minute", app=app)
        client = app.test_client()
        statuses = [
            (await call_response(client, key, "c1", "bad user")).status_code for _ in range(3)
        ]
        assert statuses == [400, 400, 429]


async def test_public_routes_are_not_limited(client: object) -> None:
    response = await client.get("/health")  # type: ignore[attr-defined]
    assert "RateLimit-Policy" not in response.headers
