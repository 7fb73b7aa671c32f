"""Where a router worker spends its time under load: ``python -m tests.benchmarks.profile
[health|events|action] [seconds]``. One worker is sampled by ``py-spy`` (PyPI, in the dev
requirements) while wrk drives the path; the summary (share of samples per function, inclusive
and own) is printed and written to ``docs/profiles/{path}.txt``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path

from .events import core_key
from .harness import Bench, Process, bench_context
from .report import DOCS
from .routing import ROUTER_ENV as ROUTING_ENV
from .routing import prepare
from .wrk import run_wrk

TOP = 30


def summarise(collapsed: str, top: int = TOP) -> list[str]:
    """Inclusive and own shares per function from py-spy's collapsed stacks."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count, frames = int(count_text), stack.split(";")
        total += count
        own[_short(frames[-1])] += count
        for frame in {_short(frame) for frame in frames}:
            inclusive[frame] += count
    if not total:
        return ["no samples"]
    lines = [f"{total} samples", "", "inclusive  own    function"]
    for frame, count in inclusive.most_common(top):
        lines.append(f"{100 * count / total:6.1f}%  {100 * own[frame] / total:5.1f}%  {frame}")
    lines += ["", "own time, top:"]
    for frame, count in own.most_common(top // 2):
        lines.append(f"{100 * count / total:6.1f}%  {frame}")
    lines += ["", "own time by package (how much is this project's code):"]
    for package, count in _by_package(own).most_common(12):
        lines.append(f"{100 * count / total:6.1f}%  {package}")
    return lines


def _by_package(own: Counter[str]) -> Counter[str]:
    """Own time summed per top-level package; ``router`` and ``flask_core`` are ours."""
    packages: Counter[str] = Counter()
    for frame, count in own.items():
        path = frame.rpartition(" (")[2].rstrip(")")
        if "flask_core/" in path:
            package = "flask_core"
        elif path.startswith("router/") or "/router/" in path:
            package = "router"
        else:
            package = path.split("/")[0].split(".")[0] or "(native)"
        packages[package] += count
    return packages


def _short(frame: str) -> str:
    """``handler (quart/app.py:123)`` → ``handler (quart/app.py)``: one row per function."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/wt/bench/", "/python3.11/"):
        path = path.split(marker, 1)[-1]
    return f"{name} ({path})"


async def _target(
    bench: Bench, stack: AsyncExitStack, path: str, router: Process
) -> tuple[str, str | None, dict[str, str]]:
    """URL, wrk script and its environment for ``path``."""
    if path == "events":
        key = await core_key(router.base_url)
        env = {"BENCH_API_KEY": key, "BENCH_COMMUNITY": "prof"}
        return f"{router.base_url}/api/v1/events", "events", env
    if path == "action":
        module = await stack.enter_async_context(bench.echo_module())
        key = await prepare(router.base_url, module.base_url)
        env = {"BENCH_API_KEY": key, "BENCH_COMMUNITY": "prof"}
        return f"{router.base_url}/api/v1/action/bench.echo", "action", env
    return f"{router.base_url}/health", None, {}


async def profile(bench: Bench, path: str, seconds: int) -> list[str]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    async with AsyncExitStack() as stack:
        router = await stack.enter_async_context(bench.router(env=ROUTING_ENV))
        url, script, env = await _target(bench, stack, path, router)
        await run_wrk(url, seconds=2, script=script, env=env)  # warm-up
        output = bench.directory / "profile.txt"
        options = ["--format", "raw", "--rate", "250", "--nonblocking", "-o", str(output)]
        target = ["--duration", str(seconds), "--pid", str(router.popen.pid)]
        spying = await asyncio.create_subprocess_exec(
            spy, "record", *options, *target,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await run_wrk(url, seconds=seconds, script=script, env=env)
        await spying.wait()
        collapsed = output.read_text() if output.exists() else ""
    if raw := os.environ.get("BENCH_PROFILE_RAW"):  # the stacks themselves, for a flame graph
        Path(raw).write_text(collapsed)
    return summarise(collapsed)


async def main(path: str, seconds: int) -> None:
    async with bench_context() as bench:
        lines = await profile(bench, path, seconds)
    target = DOCS / "profiles" / f"{path}.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    chosen = sys.argv[1] if len(sys.argv) > 1 else "events"
    asyncio.run(main(chosen, int(sys.argv[2]) if len(sys.argv) > 2 else 10))
