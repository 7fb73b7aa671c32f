"""The benchmark harness: real processes on loopback, an aiohttp load client, plain figures."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.processes import stop_process, wait_healthy
from tests.support.servers import free_port
from tests.support.stores import Stores, create_database, drop_database, session_stores

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Stats:
    """Outcome of one load run."""

    count: int
    errors: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)

    @property
    def rps(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    def line(self) -> str:
        return (
            f"{self.rps:9.1f} req/s  p50 {self.p50:7.2f} ms  p99 {self.p99:7.2f} ms"
            f"  ({self.count} ok, {self.errors} errors, {self.seconds:.1f} s)"
        )


@dataclass
class Process:
    base_url: str
    popen: subprocess.Popen[bytes]


class Bench:
    """Embedded stores for the whole run, router/bare servers on demand, load and reports."""

    def __init__(self, stores: Stores, directory: Path) -> None:
        self.stores = stores
        self.directory = directory
        self.rows: list[tuple[str, str, str]] = []

    def report(self, section: str, name: str, value: str) -> None:
        self.rows.append((section, name, value))
        print(f"[{section}] {name}: {value}", flush=True)

    def ratio(self, section: str, name: str, numerator: float, denominator: float) -> None:
        value = numerator / denominator if denominator else float("nan")
        self.report(section, name, f"{value:.2f}")

    @asynccontextmanager
    async def database(self) -> AsyncIterator[str]:
        name, url = await create_database(self.stores.admin_database_url)
        try:
            yield url
        finally:
            await drop_database(self.stores.admin_database_url, name)

    @asynccontextmanager
    async def router(
        self, env: Mapping[str, str] | None = None, workers: int = 1
    ) -> AsyncIterator[Process]:
        """Run ``python -m router`` on a fresh database and the shared Redis."""
        async with self.database() as database_url:
            port = free_port()
            environment = {
                **os.environ,
                "DATABASE_URL": database_url,
                "REDIS_URL": self.stores.redis_url,
                "ROUTER_PORT": str(port),
                "ROUTER_WORKERS": str(workers),
                "ROUTER_DATA_DIR": str(Path(tempfile.mkdtemp(dir=self.directory))),
                "LOG_LEVEL": "INFO",
                **(env or {}),
            }
            async with _process([sys.executable, "-m", "router"], environment, port) as proc:
                yield proc

    @asynccontextmanager
    async def bare(self, workers: int = 1) -> AsyncIterator[Process]:
        port = free_port()
        command = [sys.executable, "-m", "tests.benchmarks.bare_server", str(port), str(workers)]
        async with _process(command, dict(os.environ), port) as proc:
            yield proc

    async def load(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        concurrency: int = 32,
        duration: float = 5.0,
        expect: tuple[int, ...] = (200,),
    ) -> Stats:
        """Closed-loop load: ``concurrency`` clients as fast as they can for ``duration``."""
        recorder = _Recorder(method, url, headers, json, expect)
        deadline = time.perf_counter() + duration

        async def client(session: aiohttp.ClientSession) -> None:
            while time.perf_counter() < deadline:
                await recorder.one(session)

        async with _session(concurrency) as session:
            started = time.perf_counter()
            await asyncio.gather(*(client(session) for _ in range(concurrency)))
            return recorder.stats(time.perf_counter() - started)

    async def at_rate(
        self,
        url: str,
        *,
        rate: float,
        duration: float = 5.0,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        expect: tuple[int, ...] = (200,),
    ) -> Stats:
        """Open-loop load: one request every 1/rate seconds, whatever the answers take."""
        recorder = _Recorder(method, url, headers, json, expect)
        async with _session(256) as session:
            started = time.perf_counter()
            tasks = []
            for index in range(int(rate * duration)):
                delay = started + index / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(recorder.one(session)))
            await asyncio.gather(*tasks)
            return recorder.stats(time.perf_counter() - started)


@dataclass
class _Recorder:
    """Send one kind of request and keep the latency of each expected answer."""

    method: str
    url: str
    headers: Mapping[str, str] | None
    json: Any
    expect: tuple[int, ...]
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    async def one(self, session: aiohttp.ClientSession) -> None:
        started = time.perf_counter()
        async with session.request(
            self.method, self.url, headers=self.headers, json=self.json
        ) as response:
            await response.read()
            ok = response.status in self.expect
        if ok:
            self.latencies.append((time.perf_counter() - started) * 1000)
        else:
            self.errors += 1

    def stats(self, elapsed: float) -> Stats:
        return Stats(len(self.latencies), self.errors, elapsed, self.latencies)


@asynccontextmanager
async def _session(limit: int) -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(limit=limit, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        yield session


@asynccontextmanager
async def _process(command: list[str], env: dict[str, str], port: int) -> AsyncIterator[Process]:
    log = open(os.devnull, "wb")  # noqa: SIM115 - closed below; AAA lines are not the figure
    popen = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=log)  # noqa: S603
    base_url = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(base_url, popen, seconds=60)
        yield Process(base_url, popen)
    finally:
        stop_process(popen, grace=15)
        log.close()


@asynccontextmanager
async def bench_context() -> AsyncIterator[Bench]:
    directory = Path(tempfile.mkdtemp(prefix="rh-bench-"))
    try:
        with session_stores(directory) as stores:
            yield Bench(stores, directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
