from __future__ import annotations

import asyncio

from quart import Quart
from quart.typing import TestClientProtocol

from flask_core.router_only.embedded import EmbeddedRedis


async def test_health_reports_both_dependencies_connected(client: TestClientProtocol) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["status"] == "healthy"
    assert body["module"] == "router"
    assert body["dependencies"] == {"database": "connected", "redis": "connected"}
    assert body["uptime_seconds"] >= 0


async def test_ready_is_200_when_dependencies_answer(client: TestClientProtocol) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200


async def test_request_id_is_echoed_or_generated(client: TestClientProtocol) -> None:
    echoed = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["X-Request-ID"] == "abc-123"
    generated = await client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["X-Request-ID"] not in ("", "bad id with spaces")


async def test_concurrent_probes_all_answer(client: TestClientProtocol) -> None:
    responses = await asyncio.gather(*(client.get("/health") for _ in range(20)))
    bodies = [await response.get_json() for response in responses]
    assert all(body["dependencies"]["redis"] == "connected" for body in bodies)


async def test_a_lost_dependency_shows_at_once(outage_app: Quart, own_redis: EmbeddedRedis) -> None:
    client = outage_app.test_client()
    await asyncio.to_thread(own_redis.stop)
    try:
        health = await (await client.get("/health")).get_json()
        assert health["status"] == "degraded"
        assert health["dependencies"] == {"database": "connected", "redis": "disconnected"}
        ready = await client.get("/ready")
        assert ready.status_code == 503
        assert (await ready.get_json())["dependencies"]["redis"] == "disconnected"
    finally:
        await asyncio.to_thread(own_redis.start)
    assert (await (await client.get("/health")).get_json())["status"] == "healthy"
