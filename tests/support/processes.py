"""``python -m router`` as a real process (several Hypercorn workers) on a test's stores."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from router.settings import RouterSettings

from .servers import free_port
from .waiting import wait_until

REPO = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def router_process(settings: RouterSettings, workers: int = 2) -> AsyncIterator[str]:
    """Run the router on ``settings``' database, Redis and data dir; yield its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": str(settings.database_url),
        "REDIS_URL": str(settings.redis_url),
        "ROUTER_PORT": str(port),
        "ROUTER_WORKERS": str(workers),
        "ROUTER_DATA_DIR": str(settings.data_dir),
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "router"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(base_url, proc)
        yield base_url
    finally:
        stop_process(proc)


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
