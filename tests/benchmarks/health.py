"""Router ``GET /health`` against the bare Quart hello on the same Hypercorn settings (wrk).

The router's /health runs the whole request plumbing (request id, AAA line, metrics, hooks) but
no store, so the ratio is the price of that plumbing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from .harness import RUNS, SECONDS, WARMUP_SECONDS, WORKER_COUNTS, Bench, Process, repeat
from .report import Row
from .stats import Throughput, median_run, ratio, ratio_text, verdict
from .wrk import run_wrk

SECTION = "health"
TARGET = 0.85


def hello_of(bare: Process) -> Callable[[], Awaitable[Throughput]]:
    """One measured run of the bare hello, with its CPU per answer."""

    async def hello() -> Throughput:
        return await run_wrk(f"{bare.base_url}/health", seconds=SECONDS)

    return lambda: bare.cpu_per_answer(hello)


async def measure(bare: Process, router: Process) -> tuple[Throughput, Throughput]:
    async def health() -> Throughput:
        return await run_wrk(f"{router.base_url}/health", seconds=SECONDS)

    await run_wrk(f"{bare.base_url}/health", seconds=WARMUP_SECONDS)
    await run_wrk(f"{router.base_url}/health", seconds=WARMUP_SECONDS)
    bare_runs, router_runs = await repeat(
        RUNS, hello_of(bare), lambda: router.cpu_per_answer(health)
    )
    return median_run(bare_runs), median_run(router_runs)


def throughput_row(
    path: str, workers: int, figure: Throughput, bare: Throughput, target: float
) -> Row:
    value = ratio(figure.rps, bare.rps)
    errors = f", {figure.errors} errors" if figure.errors else ""
    cpu = ratio(bare.cpu_ms, figure.cpu_ms)
    return Row(
        path=path,
        workers=str(workers),
        figure=f"{figure.text()} (p99 {figure.p99:.1f} ms{errors})",
        baseline=f"bare hello {bare.text()}",
        ratio=f"{ratio_text(value)} (CPU: {ratio_text(cpu)})",
        target=f"≥ {target:.2f}x — {verdict(value >= target)}",
    )


async def run(bench: Bench) -> None:
    result = bench.section(SECTION)
    for workers in WORKER_COUNTS:
        async with bench.bare(workers) as bare, bench.router(workers=workers) as router:
            hello, health = await measure(bare, router)
        row = throughput_row("router `GET /health`", workers, health, hello, TARGET)
        result.rows.append(row)
        print(f"[{SECTION}] {row.line()}", flush=True)
