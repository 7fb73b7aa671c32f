"""Redis goes away during ingest and comes back: every accepted event is still delivered."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from quart import Quart

from flask_core.router_only.embedded import EmbeddedRedis
from router.events.models import stream_key
from tests.conftest import KeyFactory
from tests.support.servers import serve_app
from tests.support.standin import registration
from tests.support.waiting import eventually, wait_until

from .conftest import StandInModule

CHAT = {"platform": "discord", "type": "chat.message", "channel_id": "chan"}


async def _all_acknowledged(app: Quart, community: str = "c1", module: str = "archive") -> bool:
    summary: Any = await app.extensions["router"].redis.xpending(stream_key(community), module)
    return int(summary["pending"]) == 0


async def test_events_accepted_while_redis_is_down_are_delivered_in_order(
    outage_app: Quart, own_redis: EmbeddedRedis, api_key: KeyFactory
) -> None:
    client = outage_app.test_client()
    admin = await api_key("admin", app=outage_app)
    trigger = await api_key("trigger", communities=["c1"], app=outage_app)
    headers = {"X-API-Key": trigger, "X-Community-ID": "c1"}
    module = StandInModule()
    accepted: list[str] = []

    async def send(count: int) -> None:
        for index in range(count):
            body = {**CHAT, "payload": {"text": f"m{len(accepted)}-{index}"}}
            response = await client.post("/api/v1/events", json=body, headers=headers)
            assert response.status_code == 202
            accepted.append((await response.get_json())["event_id"])
            # Paced, so that Redis goes away while events are still being sent.
            await asyncio.sleep(0.01)

    async with serve_app(module.app()) as base_url:
        declared = registration("archive", base_url, subscriptions=["chat.message"])
        registered = await client.post(
            "/api/v1/register", json=declared, headers={"X-API-Key": admin}
        )
        assert registered.status_code == 201
        await send(5)
        sender = asyncio.create_task(send(40))
        await wait_until(lambda: len(accepted) > 5, what="the second batch under way")
        await asyncio.to_thread(own_redis.stop)  # mid-stream: requests are in flight
        ingest = outage_app.extensions["router"].events.ingest
        await wait_until(lambda: ingest.spooled >= 3)
        await asyncio.to_thread(own_redis.start)
        await sender
        await send(5)
        await wait_until(lambda: set(accepted) <= set(module.event_ids()), timeout=30)
        # Every delivery acknowledged: nothing can be pushed again after this point.
        await wait_until(lambda: _all_acknowledged(outage_app), what="every push acknowledged")

    assert len(accepted) == 50
    received = module.event_ids()
    # At-least-once: an ack lost with Redis means that event comes again, never out of order.
    assert list(dict.fromkeys(received)) == accepted
    assert len(received) - len(accepted) <= 64  # at most one unacknowledged batch again
    redis = outage_app.extensions["router"].redis
    entries = await redis.xrange(stream_key("c1"))
    assert len(entries) == len(accepted)


async def test_while_redis_is_down_a_repeated_id_is_caught_by_the_process_memory(
    outage_app: Quart, own_redis: EmbeddedRedis, api_key: KeyFactory
) -> None:
    client = outage_app.test_client()
    trigger = await api_key("trigger", communities=["c1"], app=outage_app)
    headers = {"X-API-Key": trigger, "X-Community-ID": "c1"}
    body = {**CHAT, "event_id": str(uuid.uuid4()), "payload": {"text": "once"}}
    await asyncio.to_thread(own_redis.stop)
    first = await client.post("/api/v1/events", json=body, headers=headers)
    again = await client.post("/api/v1/events", json=body, headers=headers)
    other = await client.post("/api/v1/events", json={**CHAT, "payload": {}}, headers=headers)
    await asyncio.to_thread(own_redis.start)
    assert (first.status_code, again.status_code, other.status_code) == (202, 200, 202)
    assert (await again.get_json())["duplicate"] is True
    redis = outage_app.extensions["router"].redis
    entries: list[Any] = []

    async def spooled_events_appended() -> bool:
        entries[:] = await redis.xrange(stream_key("c1"))
        return len(entries) >= 2

    await eventually(spooled_events_appended)
    envelopes = [json.loads(fields[b"e"]) for _, fields in entries]
    ids = [envelope["event_id"] for envelope in envelopes]
    assert ids == [body["event_id"], (await other.get_json())["event_id"]]
