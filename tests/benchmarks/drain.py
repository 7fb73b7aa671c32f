"""Durable delivery: how fast a backlog drains to a module that comes back, 10 communities.

A module registered for one event type is down while a backlog is queued for it in 10
communities (sent through ``/events/batch``, in order). Then it comes up and the figure runs
from its first arrival to its last. The deliverer handles communities side by side, each in
stream order; the order of arrival per community is checked, since that is the guarantee the
speed must not cost.

The module is served in this process on aiohttp's server, noting arrivals and nothing else.
It was a Quart app on Hypercorn, which spent about 400 µs of CPU per push against the router's
230 µs, so the figure measured the stand-in more than the router.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

from tests.support.servers import free_port
from tests.support.waiting import eventually

from .events import ADMIN_KEY, core_key
from .events import ROUTER_ENV as EVENTS_ENV
from .harness import RUNS, Bench
from .report import Row
from .stats import median, verdict

SECTION = "drain"
COMMUNITIES = 10
PER_COMMUNITY = 300
BATCH = 100
TARGET = 1000.0
# A module that comes back is found again after a back-off of up to 5 s per community by
# default; a short back-off here keeps that wait (a setting) out of the drain rate (the cost).
ROUTER_ENV = {
    **EVENTS_ENV,
    "ROUTER_EVENTS_RETRY_BASE_SECONDS": "0.05",
    "ROUTER_EVENTS_RETRY_MAX_SECONDS": "0.2",
}


def subscriber(arrivals: dict[str, list[str]], times: list[float]) -> web.Application:
    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "healthy"})

    async def events(request: web.Request) -> web.Response:
        envelope = json.loads(await request.read())
        arrivals.setdefault(envelope["community_id"], []).append(envelope["event_id"])
        times.append(time.perf_counter())
        return web.Response(status=204)

    app = web.Application()
    app.add_routes([web.get("/health", health), web.post("/events", events)])
    return app


@asynccontextmanager
async def serve_subscriber(app: web.Application, port: int) -> AsyncIterator[None]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        yield
    finally:
        await runner.cleanup()


async def register(session: aiohttp.ClientSession, router_url: str, module: str, port: int) -> str:
    """Register ``module`` (down for now) for its own event type; answer that type."""
    event_type = f"bench.{module}"
    body = {
        "module_id": module,
        "module_version": "1.0.0",
        "module_type": "core",
        "base_url": f"http://127.0.0.1:{port}",
        "health_check": "/health",
        "subscriptions": [event_type],
    }
    headers = {"X-API-Key": ADMIN_KEY}
    async with session.post(f"{router_url}/api/v1/register", json=body, headers=headers) as r:
        assert r.status in (200, 201), await r.text()
    return event_type


async def backlog(
    session: aiohttp.ClientSession, router_url: str, key: str, event_type: str
) -> dict[str, list[str]]:
    """Queue the backlog; answer the event ids per community in their stream order."""
    sent: dict[str, list[str]] = {}
    for index in range(COMMUNITIES):
        community = f"drain-{index}"
        headers = {"X-API-Key": key, "X-Community-ID": community}
        ids = sent[community] = [str(uuid.uuid4()) for _ in range(PER_COMMUNITY)]
        for start in range(0, PER_COMMUNITY, BATCH):
            events = [
                {"event_id": i, "platform": "system", "type": event_type, "payload": {}}
                for i in ids[start : start + BATCH]
            ]
            url = f"{router_url}/api/v1/events/batch"
            async with session.post(url, json={"events": events}, headers=headers) as r:
                assert r.status == 202, await r.text()
    return sent


async def one_run(router_url: str, key: str, number: int) -> tuple[float, bool, int]:
    """Events/s while the backlog drains, whether every community kept its order, and how
    many pushes were repeats (at-least-once: a redelivery the module has to dedupe)."""
    arrivals: dict[str, list[str]] = {}
    times: list[float] = []
    port = free_port()
    async with aiohttp.ClientSession() as session:
        event_type = await register(session, router_url, f"drain{number}", port)
        sent = await backlog(session, router_url, key, event_type)
    total = COMMUNITIES * PER_COMMUNITY
    async with serve_subscriber(subscriber(arrivals, times), port):
        # What has not arrived after 120 s shows up as a broken order below.
        await eventually(lambda: len(times) >= total, timeout=120, interval=0.05)
    # At-least-once: a redelivered id counts once, at its first arrival.
    firsts = {c: list(dict.fromkeys(ids)) for c, ids in arrivals.items()}
    in_order = all(firsts.get(c) == ids for c, ids in sent.items())
    if not in_order:
        print(f"[{SECTION}] order: {_first_difference(sent, firsts)}", flush=True)
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else float("nan")
    repeats = len(times) - sum(len(ids) for ids in firsts.values())
    return rate, in_order, repeats


def _first_difference(sent: dict[str, list[str]], firsts: dict[str, list[str]]) -> str:
    for community, ids in sent.items():
        got = firsts.get(community, [])
        for position, (want, seen) in enumerate(zip(ids, got, strict=False)):
            if want != seen:
                return f"{community} #{position}: expected {want}, got {seen}"
        if len(got) != len(ids):
            return f"{community}: {len(got)} of {len(ids)} arrived"
    return "none"


async def run(bench: Bench) -> None:
    async with bench.router(env=ROUTER_ENV) as router:
        key = await core_key(router.base_url)
        runs = [await one_run(router.base_url, key, number) for number in range(RUNS)]
    rate = median([rate for rate, _, _ in runs])
    complete = all(ok for _, ok, _ in runs)
    repeats = sum(count for _, _, count in runs)
    row = Row(
        path=f"durable backlog drain, {COMMUNITIES} communities x {PER_COMMUNITY} events",
        workers="1",
        figure=f"{rate:,.0f} events/s (order kept: {'yes' if complete else 'NO'},"
        f" {repeats} redelivered)",
        baseline="target",
        ratio=f"{rate / TARGET:.2f}x of target",
        target=f"≥ {TARGET:,.0f} events/s — {verdict(rate >= TARGET and complete)}",
    )
    bench.section(SECTION).rows.append(row)
    print(f"[{SECTION}] {row.line()}", flush=True)
