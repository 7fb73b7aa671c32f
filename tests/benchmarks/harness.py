"""The benchmark harness: embedded stores for the run, real processes on loopback, repeats."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, TypeVar

from tests.support.processes import stop_process, wait_healthy
from tests.support.servers import free_port
from tests.support.stores import Stores, create_database, drop_database, session_stores

from .report import SectionResult
from .stats import Throughput

REPO = Path(__file__).resolve().parents[2]
RUNS = int(os.environ.get("BENCH_RUNS", "3"))  # every figure is the median of this many runs
WARMUP_SECONDS = 2.0
SECONDS = 5.0  # one measured run
WORKER_COUNTS = tuple(int(n) for n in os.environ.get("BENCH_WORKERS", "1,2").split(","))
T = TypeVar("T")


@dataclass
class Process:
    base_url: str
    popen: subprocess.Popen[bytes]

    def cpu_seconds(self) -> float:
        """User + system CPU of the process and its workers so far. Unlike throughput, CPU
        per request hardly moves when other work shares the machine, so it shows what one
        change did even on a busy machine."""
        return sum(_cpu_seconds(pid) for pid in (self.popen.pid, *_children(self.popen.pid)))

    async def cpu_per_answer(self, measure: Callable[[], Awaitable[Throughput]]) -> Throughput:
        before = self.cpu_seconds()
        figure = await measure()
        answers = figure.rps * figure.seconds
        spent = self.cpu_seconds() - before
        return replace(figure, cpu_ms=1000 * spent / answers if answers else math.nan)


_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    """``/proc/{pid}/stat`` after the command name (which may hold spaces)."""
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def _cpu_seconds(pid: int) -> float:
    try:
        fields = _stat_fields(pid)
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat_fields(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return found


class Bench:
    """Embedded stores for the whole run, servers on demand, and each section's results."""

    def __init__(self, stores: Stores, directory: Path) -> None:
        self.stores = stores
        self.directory = directory
        self.results: dict[str, SectionResult] = {}

    def section(self, name: str) -> SectionResult:
        return self.results.setdefault(name, SectionResult())

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
                "LOG_LEVEL": "INFO",  # the AAA line of every request is part of the cost
                **(env or {}),
            }
            command = [sys.executable, "-m", "router"]
            async with serve_process(command, environment, port, self.directory) as proc:
                yield proc

    @asynccontextmanager
    async def bare(self, workers: int = 1) -> AsyncIterator[Process]:
        """The bare Quart hello on the router's own Hypercorn settings."""
        port = free_port()
        command = [sys.executable, "-m", "tests.benchmarks.bare_server", str(port), str(workers)]
        async with serve_process(command, dict(os.environ), port, self.directory) as proc:
            yield proc

    @asynccontextmanager
    async def echo_module(self) -> AsyncIterator[Process]:
        port = free_port()
        command = [sys.executable, "-m", "tests.benchmarks.echo_module", str(port)]
        async with serve_process(command, dict(os.environ), port, self.directory) as proc:
            yield proc


async def repeat(runs: int, *measures: Callable[[], Awaitable[T]]) -> list[list[T]]:
    """Run the measures in turn ``runs`` times (A B A B …, so drift hits each alike);
    answer one list of runs per measure."""
    collected: list[list[T]] = [[] for _ in measures]
    for _ in range(runs):
        for index, measure in enumerate(measures):
            collected[index].append(await measure())
    return collected


@asynccontextmanager
async def serve_process(
    command: list[str], env: dict[str, str], port: int, directory: Path
) -> AsyncIterator[Process]:
    """Run ``command`` until the block ends; its output goes to a file shown if it fails."""
    path = directory / f"process-{port}.log"
    popen, log = await _start(command, env, port, path)
    base_url = f"http://127.0.0.1:{port}"
    try:
        yield Process(base_url, popen)
    except BaseException:
        _show_output(command, path)
        raise
    finally:
        stop_process(popen, grace=15)
        log.close()


async def _start(
    command: list[str], env: dict[str, str], port: int, path: Path
) -> tuple[subprocess.Popen[bytes], BinaryIO]:
    """Start ``command`` and wait until it answers ``/health``. A start that fails is shown and
    tried once more: a figure should not be lost to a start-up race (which is still reported)."""
    for attempt in (1, 2):
        log = path.open("ab")
        popen = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=log)  # noqa: S603
        try:
            await wait_healthy(f"http://127.0.0.1:{port}", popen, seconds=60)
            return popen, log
        except (RuntimeError, TimeoutError):
            stop_process(popen, grace=15)
            log.close()
            _show_output(command, path)
            if attempt == 2:
                raise
            print(f"{command[2:]} did not start; starting it once more", file=sys.stderr)
    raise AssertionError("unreachable")


def _show_output(command: list[str], path: Path) -> None:
    tail = path.read_bytes()[-3000:].decode(errors="replace")
    print(f"{command[2:]} output (last lines):\n{tail}", file=sys.stderr, flush=True)


@asynccontextmanager
async def bench_context() -> AsyncIterator[Bench]:
    directory = Path(tempfile.mkdtemp(prefix="rh-bench-"))
    try:
        with session_stores(directory) as stores:
            yield Bench(stores, directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
