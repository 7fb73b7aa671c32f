"""``python -m router`` and ``python -m modules.*`` as real processes on a test's stores."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import IO

import httpx

from router.settings import RouterSettings

from .servers import free_port
from .waiting import wait_until

REPO = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def router_process(
    settings: RouterSettings,
    workers: int = 2,
    log: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[str]:
    """Run the router on ``settings``' database, Redis and data dir; yield its base URL.

    With ``log``, its INFO lines go to that file, in the text form.
    """
    async with started_router(settings, workers, log, extra_env) as (base_url, proc):
        await wait_healthy(base_url, proc)
        yield base_url


@asynccontextmanager
async def started_router(
    settings: RouterSettings,
    workers: int = 2,
    log: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[tuple[str, subprocess.Popen[bytes]]]:
    """``router_process`` without waiting for it: its base URL and process, just started."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": str(settings.database_url),
        "REDIS_URL": str(settings.redis_url),
        **settings.redis_topology.environment(),
        "ROUTER_PORT": str(port),
        "ROUTER_WORKERS": str(workers),
        "ROUTER_DATA_DIR": str(settings.data_dir),
        **_logging(log),
        **(extra_env or {}),
    }
    with _output(log) as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "router"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            yield f"http://127.0.0.1:{port}", proc
        finally:
            stop_process(proc)


@asynccontextmanager
async def module_process(
    name: str, port: int, env: dict[str, str], log: Path | None = None
) -> AsyncIterator[str]:
    """Run ``python -m modules.<name>`` on ``port`` with ``env``; yield its base URL once up.

    With ``log``, its INFO lines go to that file, in the text form.
    """
    full_env = {**os.environ, **_logging(log), **env, "MODULE_PORT": str(port)}
    base_url = f"http://127.0.0.1:{port}"
    with _output(log) as stderr:
        proc = subprocess.Popen(  # noqa: S603 (a module of this repository)
            [sys.executable, "-m", f"modules.{name}"],
            cwd=REPO,
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            await wait_healthy(base_url, proc)
            yield base_url
        finally:
            await asyncio.to_thread(stop_process, proc)


def _logging(log: Path | None) -> dict[str, str]:
    if log is None:
        return {"LOG_LEVEL": "WARNING"}
    return {"LOG_LEVEL": "INFO", "LOG_FORMAT": "text"}


@contextmanager
def _output(log: Path | None) -> Iterator[IO[bytes] | int]:
    if log is None:
        yield subprocess.DEVNULL
        return
    with log.open("wb") as handle:
        yield handle


def stop_process(proc: subprocess.Popen[bytes], grace: float = 20) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``grace`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def wait_healthy(base_url: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    """Poll ``/health`` until 200; fail if the process exits or ``seconds`` pass."""
    async with httpx.AsyncClient(base_url=base_url) as client:

        async def healthy() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
            try:
                return (await client.get("/health")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_until(healthy, seconds, interval=0.1, what=f"{base_url} healthy")


@asynccontextmanager
async def python_process(
    args: list[str], *, cwd: Path, env: dict[str, str], log: Path
) -> AsyncIterator[subprocess.Popen[bytes]]:
    """``python ARGS`` in ``cwd`` (output to ``log``), SIGTERMed when the block ends."""
    with log.open("wb") as output:
        proc = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            [sys.executable, *args],
            cwd=cwd,
            env={**os.environ, "LOG_LEVEL": "WARNING", **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield proc
        finally:
            stop_process(proc)
