"""Memory: one router worker's resident set after 20,000 and after 200,000 accepted events.

Nothing on the ingest path may grow with traffic (caches are bounded, ids live in Redis), so
the second figure should stay within 1.2x of the first. Events go through ``/events/batch``
(100 a request, fresh ids, spread over 10 communities) so 200,000 fit in a few minutes; the
per-event work (validation, envelope, dedupe, stream append, publish) is the same as on
``/events``. RSS is read from ``/proc`` after a short pause, once the requests are answered.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import aiohttp

from .events import ROUTER_ENV, core_key
from .harness import Bench
from .report import Row
from .stats import verdict

SECTION = "memory"
CHECKPOINTS = (20_000, 200_000)
BATCH = 100
CLIENTS = 4
COMMUNITIES = 10
TARGET = 1.2


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def _event(number: int) -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "platform": "system",
        "type": "bench.mem",
        "payload": {"n": number},
    }


async def send(router_url: str, key: str, total: int) -> int:
    """Send ``total`` events in batches from a few clients; answer how many were accepted."""
    url = f"{router_url}/api/v1/events/batch"
    batches = iter(range(total // BATCH))
    accepted = 0

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal accepted
        for number in batches:  # shared iterator: each batch is sent once
            headers = {"X-API-Key": key, "X-Community-ID": f"mem-{number % COMMUNITIES}"}
            events = [_event(number) for _ in range(BATCH)]
            async with session.post(url, json={"events": events}, headers=headers) as response:
                body = await response.json()
                assert response.status == 202, body
                accepted += sum(1 for item in body["results"] if not item.get("duplicate"))

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(client(session) for _ in range(CLIENTS)))
    return accepted


async def run(bench: Bench) -> None:
    readings: list[tuple[int, int]] = []
    async with bench.router(env=ROUTER_ENV) as router:  # one worker: the server process itself
        key = await core_key(router.base_url)
        done = 0
        for checkpoint in CHECKPOINTS:
            done += await send(router.base_url, key, checkpoint - done)
            await asyncio.sleep(2.0)  # let background work (flushes, deliverers) settle
            readings.append((done, rss_kib(router.popen.pid)))
    (first_count, first), (last_count, last) = readings
    growth = last / first
    row = Row(
        path=f"worker RSS after {last_count:,} vs {first_count:,} accepted events",
        workers="1",
        figure=f"{last / 1024:,.1f} MiB",
        baseline=f"{first / 1024:,.1f} MiB after {first_count:,}",
        ratio=f"{growth:.2f}x",
        target=f"≤ {TARGET:.1f}x — {verdict(growth <= TARGET)}",
    )
    bench.section(SECTION).rows.append(row)
    print(f"[{SECTION}] {row.line()}", flush=True)
