"""Where a router worker spends its time under load: ``python -m tests.benchmarks.profile
[health|events] [seconds]``. One worker is sampled by ``py-spy`` (PyPI, in the dev requirements)
while wrk drives the path; the summary (share of samples per function, inclusive and own) is
printed and written to ``docs/profiles/{path}.txt``.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections import Counter
from pathlib import Path

from .events import ROUTER_ENV, core_key
from .harness import Bench, bench_context
from .report import DOCS
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
    return lines


def _short(frame: str) -> str:
    """``handler (quart/app.py:123)`` → ``handler (quart/app.py)``: one row per function."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/wt/bench/", "/python3.11/"):
        path = path.split(marker, 1)[-1]
    return f"{name} ({path})"


async def profile(bench: Bench, path: str, seconds: int) -> list[str]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    async with bench.router(env=ROUTER_ENV) as router:
        env: dict[str, str] = {}
        url, script = f"{router.base_url}/health", None
        if path == "events":
            env = {"BENCH_API_KEY": await core_key(router.base_url), "BENCH_COMMUNITY": "prof"}
            url, script = f"{router.base_url}/api/v1/events", "events"
        await run_wrk(url, seconds=2, script=script, env=env)  # warm-up
        output = bench.directory / "profile.txt"
        options = ["--format", "raw", "--rate", "250", "--nonblocking", "-o", str(output)]
        target = ["--duration", str(seconds), "--pid", str(router.popen.pid)]
        command = [spy, "record", *options, *target]
        spying = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        await run_wrk(url, seconds=seconds, script=script, env=env)
        await spying.wait()
        return summarise(output.read_text() if output.exists() else "")


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
