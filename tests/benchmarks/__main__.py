"""Run every benchmark section: ``python -m tests.benchmarks [section ...]``."""

from __future__ import annotations

import asyncio
import importlib
import sys

from .harness import bench_context

SECTIONS = ["baseline", "events", "auth", "routing"]


async def main(selected: list[str]) -> None:
    names = selected or SECTIONS
    async with bench_context() as bench:
        for name in names:
            module = importlib.import_module(f"tests.benchmarks.{name}")
            print(f"== {name}", flush=True)
            await module.run(bench)
        print("\n== summary")
        for section, name, value in bench.rows:
            print(f"{section:10} {name:45} {value}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
