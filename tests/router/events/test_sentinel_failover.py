"""The Redis primary fails over to its replica through Sentinel while events arrive: every event
that got 202 is in the community stream afterwards (the replica held it, or the spool replayed
it), and the loss is reported."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from quart.typing import TestClientProtocol

from flask_core.keyspace import Keyspace
from flask_core.redis_client import create_redis
from router.settings import RouterSettings
from tests.conftest import KeyFactory
from tests.support.routers import running_router
from tests.support.stores import unreachable
from tests.support.topologies import SENTINEL_MASTER, SentinelServers, wait_for
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

EVENTS = 240  # bounded load: this many events, 8 at a time
FAILOVER_AFTER = 60


@pytest.fixture
async def own_sentinel(tmp_path: Path) -> AsyncIterator[SentinelServers]:
    """A primary, replica and Sentinel only this test uses (it moves the master)."""
    servers = SentinelServers(tmp_path / "sentinel")
    try:
        await asyncio.to_thread(servers.start)
    except (OSError, TimeoutError) as exc:
        await asyncio.to_thread(servers.stop)
        unreachable(f"cannot start Sentinel: {exc}")  # a failure under CI, never a skip
    yield servers
    await asyncio.to_thread(servers.stop)


async def _send(client: TestClientProtocol, key: str, event_id: str) -> int:
    body = {
        "event_id": event_id,
        "platform": "twitch",
        "type": "chat.message",
        "user_id": f"twitch:{event_id[:4]}",
        "payload": {"text": "hello"},
    }
    headers = {"X-API-Key": key, "X-Community-ID": "c1"}
    response = await client.post("/api/v1/events", json=body, headers=headers)
    return response.status_code


def _fail_over(servers: SentinelServers) -> None:
    old = servers.master()
    assert servers.sentinel is not None
    servers.sentinel.client().execute_command("SENTINEL", "FAILOVER", SENTINEL_MASTER)
    wait_for(lambda: servers.master() is not old, "Sentinel naming the replica master")


async def test_a_failover_under_load_loses_no_accepted_event(
    settings: RouterSettings, own_sentinel: SentinelServers, api_key: KeyFactory
) -> None:
    sentinel_settings = replace(
        settings,
        redis_url=own_sentinel.url,
        redis_topology=own_sentinel.topology,
        rate_limit_key="100000/minute",
        rate_limit_community="100000/minute",
        rate_limit_user="100000/minute",
    )
    ids = [str(uuid.uuid4()) for _ in range(EVENTS)]
    statuses: dict[str, int] = {}
    async with running_router(sentinel_settings) as app:
        key = await api_key("trigger", communities=["c1"], module_id="twitch", app=app)
        client = app.test_client()
        gate = asyncio.Semaphore(8)

        async def one(index: int, event_id: str) -> None:
            async with gate:
                if index == FAILOVER_AFTER:
                    await asyncio.to_thread(_fail_over, own_sentinel)
                statuses[event_id] = await _send(client, key, event_id)

        await asyncio.gather(*(one(i, e) for i, e in enumerate(ids)))
        spool = app.extensions["router"].events.spool
        await wait_until(lambda: not spool.pending, what="the spool drained", timeout=30)
    accepted = {e for e, status in statuses.items() if status == 202}
    stored = await _stored_ids(own_sentinel)
    lost = accepted - stored
    print(f"failover: {len(accepted)} of {EVENTS} accepted, {len(lost)} lost")
    assert set(statuses.values()) <= {202, 503}
    assert len(accepted) >= EVENTS - 8  # only requests in flight at the switch may get 503
    assert not lost


async def _stored_ids(servers: SentinelServers) -> set[str]:
    client = create_redis(servers.url, topology=servers.topology)
    try:
        rows: Any = await client.xrange(Keyspace().event_stream("c1"))
    finally:
        await client.aclose()
    return {json.loads(fields[b"e"])["event_id"] for _, fields in rows}
