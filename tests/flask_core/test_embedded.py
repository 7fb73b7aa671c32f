from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

from flask_core.redis_client import create_redis
from flask_core.router_only.embedded import EmbeddedRedis


async def test_embedded_redis_starts_on_a_socket_stops_and_restarts(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path, persist=True)
    url = server.start()
    assert url.startswith("unix://")
    client = create_redis(url)
    try:
        await client.set("k", "v")
        server.stop()
        server.start()
        assert await client.get("k") == b"v"  # kept on disk; the client reconnects
    finally:
        await client.aclose()
        server.stop()


async def test_a_stream_and_its_group_survive_a_restart_and_a_kill(tmp_path: Path) -> None:
    """AOF (fsync every second): a clean restart keeps everything, and so does a killed server,
    because Redis writes each command to the append-only file before it answers it."""
    server = EmbeddedRedis(tmp_path, persist=True)
    client = create_redis(server.start())
    stream = "rh:events:stream:{c:c1}"
    try:
        ids = [await client.xadd(stream, {"e": f"event {n}"}) for n in range(5)]
        await client.xgroup_create(stream, "archive", id="0")
        server.stop()
        server.start()
        assert [entry_id for entry_id, _ in await client.xrange(stream)] == ids
        ids.append(await client.xadd(stream, {"e": "acknowledged just before the kill"}))
        pid = int((await client.info("server"))["process_id"])
        os.kill(pid, signal.SIGKILL)  # no shutdown, no fsync: only what was written survives
        await asyncio.to_thread(_wait_gone, pid)
        server.start()
        assert [entry_id for entry_id, _ in await client.xrange(stream)] == ids
        groups = await client.xinfo_groups(stream)
        assert [group["name"] for group in groups] == [b"archive"]
    finally:
        await client.aclose()
        server.stop()


def _wait_gone(pid: int) -> None:
    """Reap the killed server (our child) so its socket and pid are free again."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
