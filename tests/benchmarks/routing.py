"""Routing at a fixed rate: what the router adds to an action call, and an open breaker's 503.

The echo module (``echo_module.py``, plain Quart) is called directly and through
``POST /api/v1/action/{id}``; the difference of the percentiles is the router's share (key
check, rate limits, breaker, token signing, the proxied call). A second registration of the
same process (its own instance, so its own breaker) answers 500 until its breaker is open;
that 503 is compared with the router's own ``/health`` at the same rate. The bare hello at the
same rate is the floor of the whole stack.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from .events import ADMIN_KEY, UNLIMITED
from .harness import RUNS, SECONDS, WORKER_COUNTS, Bench, repeat
from .openloop import Call, at_rate
from .report import Row, Series
from .stats import Latency, delta_text, median_run, verdict

SECTION = "routing"
RATE = 50.0
ROUTER_ENV = {
    "ROUTER_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
    "ROUTER_RATE_LIMIT_COMMUNITY": UNLIMITED,
    "ROUTER_RATE_LIMIT_USER": UNLIMITED,
    # The echo module is registered once and sends no heartbeat: with the default 30 s lease
    # its instances would leave the registry half-way through the runs, and every call after
    # that would be a 503 "no healthy instance" (left out of the figures as an error).
    "ROUTER_LEASE_TTL_SECONDS": "3600",
}
ACTION_TARGET = (2.0, 5.0)  # ms the router may add at p50, p99
BREAKER_TARGET = 0.5  # ms an open breaker's 503 may take over /health


def _registration(module_id: str, base_url: str, action: str, path: str) -> dict[str, Any]:
    return {
        "module_id": module_id,
        "module_version": "1.0.0",
        "module_type": "action",
        "base_url": base_url,
        "instance_id": f"{module_id}-1",
        "actions": [{"id": action, "path": path, "timeout_ms": 2000}],
    }


async def _post(session: aiohttp.ClientSession, url: str, key: str, body: Any) -> Any:
    async with session.post(url, json=body, headers={"X-API-Key": key}) as response:
        return response.status, await response.json(content_type=None)


async def prepare(router_url: str, module_url: str) -> str:
    """Register the echo and the broken action; answer an unlimited user key."""
    async with aiohttp.ClientSession() as session:
        for registration in (
            _registration("bench", module_url, "bench.echo", "/actions/echo"),
            _registration("bench-broken", module_url, "bench.fail", "/actions/fail"),
        ):
            status, body = await _post(
                session, f"{router_url}/api/v1/register", ADMIN_KEY, registration
            )
            assert status == 201, (status, body)
        key_body = {"name": "bench-user", "role": "user", "communities": ["*"]}
        status, created = await _post(
            session,
            f"{router_url}/api/v1/admin/keys",
            ADMIN_KEY,
            {**key_body, "rate_limit": UNLIMITED},
        )
        assert status == 201, (status, created)
        return str(created["key"])


async def open_breaker(call: Call) -> None:
    """Failing calls (502) until the broken instance's breaker answers 503 (five consecutive
    failures open it under the default policy)."""
    async with aiohttp.ClientSession() as session:
        for _ in range(20):
            async with session.post(call.url, json=call.json, headers=call.headers) as response:
                if response.status == 503:
                    return
                assert response.status == 502, response.status
    raise AssertionError("the breaker did not open after 20 failures")


def calls(bare_url: str, router_url: str, module_url: str, key: str) -> dict[str, Call]:
    action = {"user_id": "twitch:bench", "params": {"n": 1}}
    routed = {"X-API-Key": key, "X-Community-ID": "c1"}
    direct = {"action_id": "bench.echo", "community_id": "c1", **action, "context": {}}
    return {
        "bare hello `GET /health`": Call(f"{bare_url}/health"),
        "router `GET /health`": Call(f"{router_url}/health"),
        "module directly `POST /actions/echo`": Call(
            f"{module_url}/actions/echo", "POST", json=direct
        ),
        "action via router `POST /api/v1/action/bench.echo`": Call(
            f"{router_url}/api/v1/action/bench.echo", "POST", routed, action
        ),
        "open breaker 503 `POST /api/v1/action/bench.fail`": Call(
            f"{router_url}/api/v1/action/bench.fail", "POST", routed, action, expect=(503,)
        ),
    }


async def measure(named: dict[str, Call]) -> dict[str, Latency]:
    for call in named.values():
        if call.expect != (503,):
            await at_rate(call, rate=RATE, seconds=1.0)  # warm-up
    await open_breaker(list(named.values())[-1])

    def measure_one(call: Call) -> Any:
        return lambda: at_rate(call, rate=RATE, seconds=SECONDS)

    runs = await repeat(RUNS, *(measure_one(call) for call in named.values()))
    return {name: median_run(done) for name, done in zip(named, runs, strict=True)}


def rows(workers: int, figures: dict[str, Latency]) -> list[Row]:
    bare, health, direct, routed, broken = figures.values()
    added = (routed.p50 - direct.p50, routed.p99 - direct.p99)
    over = broken.p50 - health.p50
    w = str(workers)
    return [
        Row(
            "router `GET /health` @50/s",
            w,
            health.text(),
            f"bare hello {bare.text()}",
            f"{delta_text(health.p50 - bare.p50)} p50",
            "—",
        ),
        Row(
            "action call via router @50/s",
            w,
            # Errors are left out of the percentiles: a figure made of a few survivors shows it.
            routed.text() + (f" ({routed.errors} errors)" if routed.errors else ""),
            f"module directly {direct.text()}",
            f"{delta_text(added[0])} p50, {delta_text(added[1])} p99",
            f"≤ +2 ms p50, ≤ +5 ms p99 — "
            f"{verdict(added[0] <= ACTION_TARGET[0] and added[1] <= ACTION_TARGET[1])}",
        ),
        Row(
            "503 from an open breaker @50/s",
            w,
            f"{broken.text()} ({broken.errors} half-open probes)",
            f"router `GET /health` {health.text()}",
            f"{delta_text(over)} p50, {delta_text(broken.p99 - health.p99)} p99",
            f"≤ /health + 0.5 ms p50 — {verdict(over <= BREAKER_TARGET)}",
        ),
    ]


async def run(bench: Bench) -> None:
    result = bench.section(SECTION)
    for workers in WORKER_COUNTS:
        async with (
            bench.echo_module() as module,
            bench.bare(workers) as bare,
            bench.router(env=ROUTER_ENV, workers=workers) as router,
        ):
            key = await prepare(router.base_url, module.base_url)
            figures = await measure(calls(bare.base_url, router.base_url, module.base_url, key))
        for path, latency in figures.items():
            result.series.append(Series(path, workers, latency.p50, latency.p90, latency.p99))
        for row in rows(workers, figures):
            result.rows.append(row)
            print(f"[{SECTION}] {row.line()}", flush=True)
