"""Revocation against ``python -m router`` with two Hypercorn worker processes."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from quart import Quart

from router.settings import RouterSettings
from tests.support.keys import KeyFactory
from tests.support.processes import router_process
from tests.support.waiting import let_time_pass

RESOLVE = "/api/v1/communities/resolve?platform=twitch&channel_id=1"


async def _statuses(base_url: str, key: str, count: int) -> list[int]:
    """``count`` requests, each on a new connection, so both workers take some."""

    async def one() -> int:
        async with httpx.AsyncClient(base_url=base_url) as client:
            return (await client.get(RESOLVE, headers={"X-API-Key": key})).status_code

    return list(await asyncio.gather(*(one() for _ in range(count))))


@pytest.mark.slow
async def test_a_key_revoked_elsewhere_is_refused_by_every_worker_within_a_second(
    settings: RouterSettings, app: Quart, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    victim = await api_key("core")
    async with router_process(settings, workers=2) as base_url:
        assert set(await _statuses(base_url, victim, 20)) == {404}  # known to both workers
        async with httpx.AsyncClient(base_url=base_url) as client:
            items = (await client.get("/api/v1/admin/keys", headers={"X-API-Key": admin})).json()
        victim_id = next(item["id"] for item in items["items"] if item["role"] == "core")
        revoked = await app.test_client().delete(
            f"/api/v1/admin/keys/{victim_id}", headers={"X-API-Key": admin}
        )
        assert revoked.status_code == 204
        await let_time_pass(1.0)  # the contract's bound: "within 1 s"
        assert set(await _statuses(base_url, victim, 20)) == {401}
