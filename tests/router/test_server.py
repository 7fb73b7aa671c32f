"""``python -m router`` as operators run it: real Hypercorn, several workers."""

from __future__ import annotations

import httpx

from flask_core.serving import MODULE_LIMITS
from router.server import hypercorn_config
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


def test_the_routers_hypercorn_bounds_slow_clients() -> None:
    config = hypercorn_config(RouterSettings())
    # Headers must be complete within the keep-alive (75 s, above a load balancer's 60 s idle),
    # a silent connection ends after 150 s, and headers are capped like the modules'.
    assert config.keep_alive_timeout == 75
    assert config.read_timeout == 150
    assert config.h11_max_incomplete_size == MODULE_LIMITS.max_header_bytes == 16 * 1024
    assert config.h2_max_header_list_size == 16 * 1024
