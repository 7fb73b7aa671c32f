from __future__ import annotations

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
