"""The audit trail's batch writer: records per second into a fresh database, then verified.

Records are queued in-process as fast as the loop allows (yielding every 1,000, as a busy server
would) and written by the one writer per process: chained multi-row inserts under the advisory
lock. The figure runs from the first record queued to the last one stored.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from flask_core.database import AsyncDAL, migrate
from router import MIGRATIONS
from router.audit.store import AuditStore
from router.audit.trail import AuditTrail

from .harness import RUNS, Bench
from .report import Row
from .stats import median, verdict

SECTION = "audit"
RECORDS = 50_000
TARGET = 20_000.0


async def _write(trail: AuditTrail) -> float:
    started = time.perf_counter()
    for number in range(RECORDS):
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
    while trail.written < RECORDS:
        await asyncio.sleep(0.005)
    return RECORDS / (time.perf_counter() - started)


async def one_run(bench: Bench, spool: Path) -> float:
    """Records/s of one run on a fresh database; the chain must verify afterwards."""
    async with bench.database() as url:
        dal = await AsyncDAL.connect(url, max_size=4)
        trail = AuditTrail("router", "bench", max_queue=RECORDS)
        try:
            await migrate(dal, MIGRATIONS)
            store = AuditStore(dal)
            await trail.start(store, spool)
            rate = await _write(trail)
            checked = await store.verify()
            assert checked.ok and checked.checked == RECORDS, checked
        finally:
            await trail.close()
            await dal.close()
    return rate


async def run(bench: Bench) -> None:
    rates = [await one_run(bench, bench.directory / f"audit-spool-{n}") for n in range(RUNS)]
    rate = median(rates)
    row = Row(
        path=f"audit batch writer ({RECORDS:,} records, chained, verified after)",
        workers="—",
        figure=f"{rate:,.0f} records/s (runs: {', '.join(f'{r:,.0f}' for r in rates)})",
        baseline="target",
        ratio=f"{rate / TARGET:.2f}x of target",
        target=f"≥ {TARGET:,.0f} records/s — {verdict(rate >= TARGET)}",
    )
    bench.section(SECTION).rows.append(row)
    print(f"[{SECTION}] {row.line()}", flush=True)
