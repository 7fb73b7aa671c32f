"""Events: accepted events per second against /health, and ingest-to-subscriber latency.

Throughput: ``POST /api/v1/events`` with a core key (authenticated, rate-limited, deduplicated
with a fresh id each time, appended to the stream and published), closed loop, against
``GET /health`` on the same router. Latency: events sent at a fixed rate; each carries its send
time; a raw redis.asyncio pattern subscriber (live) and a module registered for the type
(durable push) note when it arrives. Drain: a backlog queued for a module that is down, timed
from its first to its last arrival once the module is back (sequential per community, so this is
the one-community ceiling). Load client, subscriber and module share this process.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from quart import Quart, Response, request

from tests.support.servers import free_port, serve_app
from tests.support.waiting import eventually, wait_until

from .harness import Bench, Stats

SECTION = "events"
ADMIN_KEY = "bench-admin-key-0123456789abcdef0123456789"
COMMUNITY = "bench"
UNLIMITED = {
    "ROUTER_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
    "ROUTER_RATE_LIMIT_KEY": "100000000/minute",
    "ROUTER_RATE_LIMIT_COMMUNITY": "100000000/minute",
    "ROUTER_EVENTS_BLOCK_MS": "1000",
}
LATENCY_RATE = 100.0  # events per second while measuring latency (well under saturation)
LATENCY_SECONDS = 4.0
BACKLOG_EVENTS = 1000  # queued for a module that is down, then drained when it is back
BACKLOG_COMMUNITY = "bench-backlog"


def _durable_module(arrivals: dict[str, float]) -> Quart:
    app = Quart("bench-subscriber")

    @app.get("/health")
    async def health() -> Response:
        return Response('{"status": "healthy"}', content_type="application/json")

    @app.post("/events")
    async def events() -> Response:
        envelope = json.loads(await request.get_data())
        arrivals[envelope["event_id"]] = time.time()
        return Response("", status=204)

    return app


async def _core_key(session: aiohttp.ClientSession, base_url: str) -> str:
    body = {"name": "bench-core", "role": "core", "communities": ["*"]}
    async with session.post(
        f"{base_url}/api/v1/admin/keys", json=body, headers={"X-API-Key": ADMIN_KEY}
    ) as response:
        assert response.status == 201, await response.text()
        return str((await response.json())["key"])


async def _register(
    session: aiohttp.ClientSession,
    base_url: str,
    module_url: str,
    module_id: str = "bench-subscriber",
) -> None:
    body = {
        "module_id": module_id,
        "module_version": "1.0.0",
        "module_type": "core",
        "base_url": module_url,
        "health_check": "/health",
        "subscriptions": ["bench.ping"],
    }
    async with session.post(
        f"{base_url}/api/v1/register", json=body, headers={"X-API-Key": ADMIN_KEY}
    ) as response:
        assert response.status in (200, 201), await response.text()


async def _listen(redis_url: str, arrivals: dict[str, float], ready: asyncio.Event) -> None:
    client = aioredis.Redis.from_url(redis_url)
    pubsub = client.pubsub()
    try:
        await pubsub.psubscribe(f"events.{COMMUNITY}.*")
        ready.set()
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None and message["type"] == "pmessage":
                arrivals[json.loads(message["data"])["event_id"]] = time.time()
    finally:
        await pubsub.aclose()
        await client.aclose()


async def _send_at_rate(
    session: aiohttp.ClientSession,
    url: str,
    key: str,
    sent: dict[str, float],
    seconds: float = LATENCY_SECONDS,
) -> None:
    headers = {"X-API-Key": key, "X-Community-ID": COMMUNITY}

    async def one(index: int) -> None:
        body = {"platform": "system", "type": "bench.ping", "payload": {"n": index}}
        started = time.time()
        async with session.post(url, json=body, headers=headers) as response:
            if response.status == 202:
                sent[(await response.json())["event_id"]] = started

    total, begin, tasks = int(LATENCY_RATE * seconds), time.perf_counter(), []
    for index in range(total):
        delay = begin + index / LATENCY_RATE - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index)))
    await asyncio.gather(*tasks)


def _latencies(sent: dict[str, float], arrivals: dict[str, float]) -> Stats:
    values = [(arrivals[i] - t) * 1000 for i, t in sent.items() if i in arrivals]
    return Stats(len(values), len(sent) - len(values), LATENCY_SECONDS, values)


async def _measure_latency(bench: Bench, base_url: str, key: str) -> tuple[Stats, Stats]:
    live: dict[str, float] = {}
    durable: dict[str, float] = {}
    sent: dict[str, float] = {}
    ready = asyncio.Event()
    listener = asyncio.create_task(_listen(bench.stores.redis_url, live, ready))
    async with serve_app(_durable_module(durable)) as module_url, aiohttp.ClientSession() as s:
        await _register(s, base_url, module_url)
        await ready.wait()
        warm: dict[str, float] = {}
        await _send_at_rate(s, f"{base_url}/api/v1/events", key, warm, seconds=0.5)
        # The deliverer runs before we measure.
        await wait_until(lambda: warm.keys() <= durable.keys(), timeout=60, interval=0.1)
        await _send_at_rate(s, f"{base_url}/api/v1/events", key, sent)
        # What has not arrived after 20 s is reported as lost.
        await eventually(lambda: sent.keys() <= durable.keys(), timeout=20, interval=0.1)
    listener.cancel()
    await asyncio.gather(listener, return_exceptions=True)
    return _latencies(sent, live), _latencies(sent, durable)


async def _send_backlog(session: aiohttp.ClientSession, url: str, key: str) -> list[str]:
    headers = {"X-API-Key": key, "X-Community-ID": BACKLOG_COMMUNITY}
    body = {"platform": "system", "type": "bench.ping", "payload": {}}
    ids: list[str] = []
    for _ in range(BACKLOG_EVENTS):  # one at a time: the stream order is the sending order
        async with session.post(url, json=body, headers=headers) as response:
            ids.append((await response.json())["event_id"])
    return ids


async def _measure_drain(base_url: str, key: str) -> float:
    """Events per second one module receives while catching up on a backlog."""
    arrivals: dict[str, float] = {}
    port = free_port()
    async with aiohttp.ClientSession() as session:
        await _register(session, base_url, f"http://127.0.0.1:{port}", "bench-backlog")
        ids = await _send_backlog(session, f"{base_url}/api/v1/events", key)
    async with serve_app(_durable_module(arrivals), port):
        await eventually(lambda: arrivals.keys() >= set(ids), timeout=60, interval=0.05)
    times = sorted(arrivals[i] for i in ids if i in arrivals)
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else float("nan")


def _latency_line(stats: Stats) -> str:
    figures = f"p50 {stats.p50:7.2f} ms  p99 {stats.p99:7.2f} ms"
    return f"{figures}  ({stats.count} seen, {stats.errors} missing)"


async def run(bench: Bench) -> None:
    async with bench.router(env=UNLIMITED) as router:
        async with aiohttp.ClientSession() as session:
            key = await _core_key(session, router.base_url)
        body: dict[str, Any] = {"platform": "system", "type": "bench.load", "payload": {"n": 1}}
        headers = {"X-API-Key": key, "X-Community-ID": COMMUNITY}
        events_url = f"{router.base_url}/api/v1/events"
        await bench.load(f"{router.base_url}/health", duration=1.0)
        await bench.load(events_url, method="POST", headers=headers, json=body, duration=1.0,
                         expect=(202,))  # fmt: skip
        health = await bench.load(f"{router.base_url}/health", duration=5.0)
        events = await bench.load(
            events_url, method="POST", headers=headers, json=body, duration=5.0, expect=(202,)
        )
        live, durable = await _measure_latency(bench, router.base_url, key)
        drain = await _measure_drain(router.base_url, key)
    bench.report(SECTION, "router GET /health", health.line())
    bench.report(SECTION, "router POST /api/v1/events (accepted)", events.line())
    bench.ratio(SECTION, "events/health throughput", events.rps, health.rps)
    bench.report(
        SECTION, f"ingest -> pub/sub subscriber @{LATENCY_RATE:.0f}/s", _latency_line(live)
    )
    bench.report(SECTION, f"ingest -> durable module @{LATENCY_RATE:.0f}/s", _latency_line(durable))
    bench.report(SECTION, "durable backlog drain, one module", f"{drain:9.1f} events/s")
