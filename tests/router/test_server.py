"""``python -m router`` as operators run it: real Hypercorn, several workers."""

from __future__ import annotations

import httpx

from router.settings import RouterSettings
from tests.support.processes import router_process


async def test_two_workers_serve_and_merge_metrics(settings: RouterSettings) -> None:
    async with (
        router_process(settings, workers=2) as base_url,
        httpx.AsyncClient(base_url=base_url) as client,
    ):
        for _ in range(20):
            body = (await client.get("/health")).json()
            assert body["dependencies"] == {"database": "connected", "redis": "connected"}
        metrics = (await client.get("/metrics")).text
    line = next(
        row
        for row in metrics.splitlines()
        if row.startswith("router_http_requests_total{")
        and 'route="/health"' in row
        and 'status="200"' in row
    )
    # Requests landed on both workers; the exposition adds up every worker's count.
    assert float(line.rsplit(" ", 1)[1]) >= 21
