"""``make bench [ARGS="section ..."]``: run the sections, print the table, write
``docs/performance.md`` (with its chart) from this run and the stored results of the others.
"""

from __future__ import annotations

import asyncio
import importlib
import sys

from .harness import RUNS, SECONDS, WARMUP_SECONDS, bench_context
from .report import publish, table
from .wrk import WrkMissing, wrk_binary

SECTIONS = ["health", "events", "routing", "audit", "drain", "memory"]

METHOD = f"""
How: real processes on 127.0.0.1 (router via `python -m router` on embedded PostgreSQL and
Redis, INFO logging to /dev/null), the bare Quart hello served by the router's own Hypercorn
settings (`tests/benchmarks/bare_server.py`). Throughput is `wrk` (1 thread, 32 connections),
latency an aiohttp client sending at a fixed rate (open loop). Each figure: {WARMUP_SECONDS:.0f} s
warm-up, then the median of {RUNS} runs of {SECONDS:.0f} s, baseline and path measured in turn
in the same run. Ratios: path / baseline (throughput), or the path's latency minus its baseline's.
"""


async def main(selected: list[str]) -> int:
    if selected == ["--render"]:  # rewrite the note and chart from the stored results only
        note, _ = publish({}, SECTIONS, METHOD)
        print(f"written: {note}")
        return 0
    unknown = [name for name in selected if name not in SECTIONS]
    if unknown:
        print(f"unknown section(s) {unknown}; choose from {SECTIONS}", file=sys.stderr)
        return 2
    try:
        wrk_binary()
    except WrkMissing as missing:
        print(missing, file=sys.stderr)
        return 1
    names = selected or SECTIONS
    async with bench_context() as bench:
        for name in names:
            print(f"== {name}", flush=True)
            await importlib.import_module(f"tests.benchmarks.{name}").run(bench)
    note, results = publish({name: bench.section(name) for name in names}, SECTIONS, METHOD)
    print("\n".join(["", *table(results, names), "", f"written: {note}"]))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
