from __future__ import annotations

from quart.typing import TestClientProtocol


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
