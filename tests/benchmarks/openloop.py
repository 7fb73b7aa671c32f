"""Latency at a fixed request rate (open loop): requests leave on schedule whatever the answers
take, so a slow answer cannot hold back the next request and hide itself (as a closed loop
would). aiohttp on keep-alive connections; each sample runs from send to the last body byte.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from .stats import Latency


@dataclass(frozen=True)
class Call:
    """One kind of request and the statuses that count as its expected answer."""

    url: str
    method: str = "GET"
    headers: Mapping[str, str] | None = None
    json: Any = None
    expect: tuple[int, ...] = (200,)


@dataclass
class _Samples:
    call: Call
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0

    async def one(self, session: aiohttp.ClientSession) -> None:
        started = time.perf_counter()
        try:
            async with session.request(
                self.call.method, self.call.url, headers=self.call.headers, json=self.call.json
            ) as response:
                await response.read()
                ok = response.status in self.call.expect
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        if ok:
            self.latencies_ms.append((time.perf_counter() - started) * 1000)
        else:
            self.errors += 1


async def at_rate(call: Call, *, rate: float, seconds: float) -> Latency:
    """Send ``rate`` requests per second for ``seconds`` and summarise their latencies."""
    if not call.url.startswith("http://127.0.0.1:"):
        raise ValueError("benchmark traffic goes to 127.0.0.1 only")
    samples = _Samples(call)
    connector = aiohttp.TCPConnector(limit=256)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        begin = time.perf_counter()
        tasks: list[asyncio.Task[None]] = []
        for index in range(int(rate * seconds)):
            delay = begin + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(samples.one(session)))
        await asyncio.gather(*tasks)
    return Latency.of(samples.latencies_ms, samples.errors)
