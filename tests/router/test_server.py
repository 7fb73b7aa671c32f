"""``python -m router`` as operators run it: real Hypercorn, several workers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.servers import free_port

REPO = Path(__file__).resolve().parents[2]


async def wait_healthy(client: httpx.AsyncClient, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        assert proc.poll() is None, "router exited"
        try:
            if (await client.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise TimeoutError("router did not start")


async def test_two_workers_serve_and_merge_metrics(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ROUTER_PORT": str(port),
        "ROUTER_WORKERS": "2",
        "ROUTER_DATA_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "router"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await wait_healthy(client, proc)
            for _ in range(20):
                body = (await client.get("/health")).json()
                assert body["dependencies"] == {"database": "connected", "redis": "connected"}
            metrics = (await client.get("/metrics")).text
            line = next(
                row
                for row in metrics.splitlines()
                if row.startswith("router_http_requests_total{")
                and 'route="/health"' in row
                and 'status="200"' in row
            )
            assert float(line.rsplit(" ", 1)[1]) >= 21
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert proc.returncode == 0
