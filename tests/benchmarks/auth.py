"""Keys and audit: authenticated requests per second against /health, and audit writer rate.

Throughput: ``GET /api/v1/admin/keys/{id}`` (admin key) and ``GET /api/v1/communities/resolve``
(core key) on one router worker, closed loop, against the unauthenticated ``GET /health`` of
the same router. Both authenticated routes pay key lookup (cached ≤ 1 s), the keyed hash, the
guard and one PostgreSQL query. Audit: records queued in-process as fast as the loop allows and
written by the batch writer (chained multi-row inserts) into a fresh database, then verified.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from flask_core.database import AsyncDAL, migrate
from router import MIGRATIONS
from router.audit.store import AuditStore
from router.audit.trail import AuditTrail

from .harness import Bench

SECTION = "auth"
ADMIN_KEY = "bench-admin-key-auth-0123456789abcdef012345"
UNLIMITED = {
    "ROUTER_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
    "ROUTER_RATE_LIMIT_KEY": "100000000/minute",
    "ROUTER_RATE_LIMIT_COMMUNITY": "100000000/minute",
}
AUDIT_RECORDS = 50_000
SECONDS = 5.0


async def _prepare(base_url: str) -> tuple[str, str]:
    """Create a core key and a channel mapping; return (admin-visible key id, core key)."""
    headers = {"X-API-Key": ADMIN_KEY}
    async with aiohttp.ClientSession(base_url) as session:
        async with session.post(
            "/api/v1/admin/keys",
            json={"name": "bench-core", "role": "core"},
            headers=headers,
        ) as response:
            assert response.status == 201, await response.text()
            created = await response.json()
        await session.post(
            "/api/v1/admin/communities", json={"id": "bench", "name": "Bench"}, headers=headers
        )
        async with session.post(
            "/api/v1/admin/communities/bench/channels",
            json={"platform": "twitch", "channel_id": "44429626"},
            headers=headers,
        ) as response:
            assert response.status in (200, 201), await response.text()
    return str(created["id"]), str(created["key"])


async def _http(bench: Bench) -> None:
    async with bench.router(env=UNLIMITED) as router:
        key_id, core_key = await _prepare(router.base_url)
        show = f"{router.base_url}/api/v1/admin/keys/{key_id}"
        resolve = (
            f"{router.base_url}/api/v1/communities/resolve?platform=twitch&channel_id=44429626"
        )
        admin, core = {"X-API-Key": ADMIN_KEY}, {"X-API-Key": core_key}
        await bench.load(f"{router.base_url}/health", duration=1.0)
        await bench.load(show, headers=admin, duration=1.0)
        health = await bench.load(f"{router.base_url}/health", duration=SECONDS)
        shown = await bench.load(show, headers=admin, duration=SECONDS)
        resolved = await bench.load(resolve, headers=core, duration=SECONDS)
    bench.report(SECTION, "GET /health (no auth)", health.line())
    bench.report(SECTION, "GET /admin/keys/{id} (admin key)", shown.line())
    bench.report(SECTION, "GET /communities/resolve (core key)", resolved.line())
    bench.ratio(SECTION, "keys/{id} / health throughput", shown.rps, health.rps)
    bench.ratio(SECTION, "resolve / health throughput", resolved.rps, health.rps)


async def _audit_writer(bench: Bench) -> None:
    async with bench.database() as url:
        dal = await AsyncDAL.connect(url, max_size=4)
        trail = AuditTrail("router", "bench", max_queue=AUDIT_RECORDS)
        try:
            await migrate(dal, MIGRATIONS)
            store = AuditStore(dal)
            await trail.start(store, Path(bench.directory) / "audit-spool")
            started = time.perf_counter()
            for number in range(AUDIT_RECORDS):
                trail.record(
                    "AUDIT",
                    "POST /api/v1/admin/keys",
                    "201",
                    community=f"c{number % 50}",
                    user="key:bench",
                    details={"n": number, "path": "/api/v1/admin/keys"},
                )
                if number % 1000 == 999:
                    await asyncio.sleep(0)  # let the writer take batches as a server would
            while trail.written < AUDIT_RECORDS:
                await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - started
            verify_started = time.perf_counter()
            result = await store.verify()
            verify_elapsed = time.perf_counter() - verify_started
        finally:
            await trail.close()
            await dal.close()
    bench.report(
        SECTION,
        "audit records written/s (batch writer)",
        f"{AUDIT_RECORDS / elapsed:9.1f} rec/s  ({AUDIT_RECORDS} in {elapsed:.2f} s)",
    )
    bench.report(
        SECTION,
        "audit chain verified/s",
        f"{result.checked / verify_elapsed:9.1f} rec/s  (ok={result.ok}, {result.checked})",
    )


async def run(bench: Bench) -> None:
    await _http(bench)
    await _audit_writer(bench)
