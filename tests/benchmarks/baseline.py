"""Foundation: GET /health on the router against a bare Quart app on the same Hypercorn."""

from __future__ import annotations

from .harness import Bench

SECTION = "baseline"


async def run(bench: Bench) -> None:
    async with bench.bare() as bare, bench.router() as router:
        for url in (f"{bare.base_url}/health", f"{router.base_url}/health"):
            await bench.load(url, duration=1.0)  # warm up both before measuring
        bare_stats = await bench.load(f"{bare.base_url}/health", duration=5.0)
        router_stats = await bench.load(f"{router.base_url}/health", duration=5.0)
    bench.report(SECTION, "bare Quart  GET /health", bare_stats.line())
    bench.report(SECTION, "router      GET /health", router_stats.line())
    bench.ratio(SECTION, "router/bare throughput", router_stats.rps, bare_stats.rps)
    bench.ratio(SECTION, "router/bare p50 latency", router_stats.p50, bare_stats.p50)
