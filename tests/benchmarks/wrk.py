"""Throughput with ``wrk`` (Debian package ``wrk``): a C load client, so the figure is the
server's, not the client's. Every script ends with ``lua/report.lua``, which prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from .stats import Throughput

LUA = Path(__file__).resolve().parent / "lua"
INSTALL_HINT = "apt-get install wrk"
_MARK = "WRK_JSON "


class WrkMissing(RuntimeError):
    """``wrk`` is not on PATH: the message names the command that installs it."""


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkMissing(f"wrk is not installed; install it with: {INSTALL_HINT}")
    return found


def parse_report(output: str) -> Throughput:
    """The :class:`Throughput` in wrk's output (the line ``report.lua`` printed)."""
    for line in output.splitlines():
        if line.startswith(_MARK):
            data = json.loads(line[len(_MARK) :])
            break
    else:
        raise ValueError(f"no wrk report in the output: {output[-500:]!r}")
    seconds = data["duration_us"] / 1e6
    ok = data["requests"] - data["status"]
    errors = sum(data[name] for name in ("connect", "read", "write", "status", "timeout"))
    return Throughput(
        seconds=seconds,
        rps=ok / seconds if seconds else 0.0,
        errors=errors,
        p50=data["p50_us"] / 1000,
        p90=data["p90_us"] / 1000,
        p99=data["p99_us"] / 1000,
    )


def script_text(name: str | None) -> str:
    """The Lua for one run: an optional request script, then the report."""
    parts = [(LUA / f"{name}.lua").read_text()] if name else []
    parts.append((LUA / "report.lua").read_text())
    return "\n".join(parts)


async def run_wrk(
    url: str,
    *,
    seconds: float,
    connections: int = 32,
    threads: int = 1,
    script: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Throughput:
    """Closed-loop load on ``url`` for ``seconds``; ``script`` names a file in ``lua/``."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("benchmark traffic goes to 127.0.0.1 only")
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script_text(script))
        lua.flush()
        command = [
            wrk_binary(),
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={max(1, round(seconds))}s",
            "--timeout=10s",
            f"--script={lua.name}",
            url,
        ]
        proc = await asyncio.create_subprocess_exec(
            *command,
            env={**os.environ, **(env or {})},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(proc.communicate(), timeout=seconds + 60)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {output.decode()[-500:]}")
    return parse_report(output.decode())
