"""Authenticated ``POST /api/v1/events`` against the bare Quart hello (wrk, same run).

Each request carries a fresh event id (``lua/events.lua``), so every one is accepted: key check,
the quotas, the dedupe gate, the stream append and the publish. The key's limits are far above
what the machine can send, so no request is refused.
"""

from __future__ import annotations

import random

import aiohttp

from .harness import RUNS, SECONDS, WARMUP_SECONDS, WORKER_COUNTS, Bench, Process, repeat
from .health import hello_of, throughput_row
from .stats import Throughput, median_run
from .wrk import run_wrk

SECTION = "events"
ADMIN_KEY = "bench-admin-key-0123456789abcdef0123456789"
COMMUNITY = "bench"
UNLIMITED = "100000000/minute"
ROUTER_ENV = {
    "ROUTER_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
    "ROUTER_RATE_LIMIT_KEY": UNLIMITED,
    "ROUTER_RATE_LIMIT_COMMUNITY": UNLIMITED,
    "ROUTER_RATE_LIMIT_USER": UNLIMITED,
}
TARGET = 0.60


async def core_key(base_url: str) -> str:
    """A core key for every community with a limit no benchmark reaches."""
    body = {"name": "bench-core", "role": "core", "communities": ["*"], "rate_limit": UNLIMITED}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{base_url}/api/v1/admin/keys", json=body, headers={"X-API-Key": ADMIN_KEY}
        ) as response,
    ):
        assert response.status == 201, await response.text()
        return str((await response.json())["key"])


async def measure(bare: Process, router: Process, key: str) -> tuple[Throughput, Throughput]:
    async def events(seconds: float = SECONDS) -> Throughput:
        env = {
            "BENCH_API_KEY": key,
            "BENCH_COMMUNITY": COMMUNITY,
            "BENCH_RUN": str(random.getrandbits(32)),  # ids never repeat across runs
        }
        url = f"{router.base_url}/api/v1/events"
        return await run_wrk(url, seconds=seconds, script="events", env=env)

    await run_wrk(f"{bare.base_url}/health", seconds=WARMUP_SECONDS)
    await events(WARMUP_SECONDS)
    bare_runs, event_runs = await repeat(
        RUNS, hello_of(bare), lambda: router.cpu_per_answer(events)
    )
    return median_run(bare_runs), median_run(event_runs)


async def run(bench: Bench) -> None:
    result = bench.section(SECTION)
    for workers in WORKER_COUNTS:
        async with (
            bench.bare(workers) as bare,
            bench.router(env=ROUTER_ENV, workers=workers) as router,
        ):
            key = await core_key(router.base_url)
            hello, events = await measure(bare, router, key)
        row = throughput_row("authenticated `POST /api/v1/events`", workers, events, hello, TARGET)
        result.rows.append(row)
        print(f"[{SECTION}] {row.line()}", flush=True)
