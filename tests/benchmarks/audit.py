"""The audit trail's batch writer: records per second into a fresh database, then verified.

Records are queued in-process as fast as the loop allows (yielding every 1,000, as a busy server
would) and written by the one writer per process: chained binary COPY under the advisory lock,
the next batch hashed while the last one is in PostgreSQL. The figure runs from the first record
queued to the last one stored. Next to it, the CPU each record cost this process (queueing
included) and PostgreSQL's backends: unlike the rate, these hardly move when other work shares
the machine, so they show what a change did even on a busy one.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from flask_core.database import AsyncDAL, migrate
from router import MIGRATIONS
from router.audit.store import AuditStore
from router.audit.trail import AuditTrail

from .harness import RUNS, Bench, _children, _cpu_seconds
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


@dataclass(frozen=True)
class AuditRun:
    rate: float  # records/s
    cpu_us: float  # this process's CPU per record
    postgres_cpu_us: float  # PostgreSQL's, NaN when the server is not ours to see


def _postgres_cpu_seconds(bench: Bench) -> float:
    """CPU of the embedded server's backends so far (NaN for a server started elsewhere)."""
    if bench.stores.postgres is None:
        return float("nan")
    postmaster = int((bench.stores.postgres.pgdata / "postmaster.pid").read_text().split()[0])
    return sum(_cpu_seconds(pid) for pid in _children(postmaster))


async def one_run(bench: Bench, spool: Path) -> AuditRun:
    """One run on a fresh database; the chain must verify afterwards."""
    async with bench.database() as url:
        dal = await AsyncDAL.connect(url, max_size=4)
        trail = AuditTrail("router", "bench", max_queue=RECORDS)
        try:
            await migrate(dal, MIGRATIONS)
            store = AuditStore(dal)
            await trail.start(store, spool)
            cpu, postgres_cpu = time.process_time(), _postgres_cpu_seconds(bench)
            rate = await _write(trail)
            cpu, postgres_cpu = (
                time.process_time() - cpu,
                _postgres_cpu_seconds(bench) - postgres_cpu,
            )
            checked = await store.verify()
            assert checked.ok and checked.checked == RECORDS, checked
        finally:
            await trail.close()
            await dal.close()
    return AuditRun(rate, 1e6 * cpu / RECORDS, 1e6 * postgres_cpu / RECORDS)


async def run(bench: Bench) -> None:
    runs = [await one_run(bench, bench.directory / f"audit-spool-{n}") for n in range(RUNS)]
    rate = median([one.rate for one in runs])
    cpu = median([one.cpu_us for one in runs])
    postgres_cpu = median([one.postgres_cpu_us for one in runs])
    row = Row(
        path=f"audit batch writer ({RECORDS:,} records, chained, verified after)",
        workers="—",
        figure=f"{rate:,.0f} records/s (runs: {', '.join(f'{one.rate:,.0f}' for one in runs)};"
        f" CPU per record: writer process {cpu:.1f} µs, PostgreSQL {postgres_cpu:.1f} µs)",
        baseline="target",
        ratio=f"{rate / TARGET:.2f}x of target",
        target=f"≥ {TARGET:,.0f} records/s — {verdict(rate >= TARGET)}",
    )
    bench.section(SECTION).rows.append(row)
    print(f"[{SECTION}] {row.line()}", flush=True)
