"""Session-wide real servers, and a fresh database and Redis per test."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from quart import Quart
from quart.typing import TestClientProtocol

from flask_core.redis_client import STANDALONE, RedisTopology, create_redis, prepare
from flask_core.router_only.embedded import EmbeddedRedis
from router.app import create_app
from router.settings import RouterSettings

from .support.keys import KeyFactory
from .support.stores import (
    REDIS_MODES,
    Stores,
    create_database,
    drop_database,
    session_stores,
    started,
    unreachable,
)
from .support.topologies import ClusterServers, SentinelServers

os.environ.setdefault("LOG_LEVEL", "WARNING")


@pytest.fixture(scope="session")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    directory = Path(tmp_path_factory.mktemp("stores", numbered=True))
    try:
        context = session_stores(directory)
        found = context.__enter__()
    except Exception as exc:  # any start failure means the servers are missing
        unreachable(f"{type(exc).__name__}: {exc}")
        return
    try:
        yield found
    finally:
        context.__exit__(None, None, None)


@pytest.fixture
async def database_url(stores: Stores) -> AsyncIterator[str]:
    """A fresh, empty database for this test, dropped afterwards."""
    try:
        name, url = await create_database(stores.admin_database_url)
    except OSError as exc:
        unreachable(f"PostgreSQL: {exc}")
    yield url
    await drop_database(stores.admin_database_url, name)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked ``redis_modes`` that use Redis run once per mode (or per mode the marker
    names, e.g. ``@pytest.mark.redis_modes("cluster")``)."""
    marker = metafunc.definition.get_closest_marker("redis_modes")
    if marker is None:
        return
    if "redis_mode" in metafunc.fixturenames:
        metafunc.parametrize("redis_mode", marker.args or REDIS_MODES, indirect=True)


@pytest.fixture(scope="session")
def cluster_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterServers]:
    """A 3-master Redis Cluster on loopback, started the first time a test asks for it."""
    with started(ClusterServers(tmp_path_factory.mktemp("cluster", numbered=True))) as servers:
        yield servers


@pytest.fixture(scope="session")
def sentinel_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelServers]:
    """A primary, its replica and a Sentinel on loopback, started on first use."""
    with started(SentinelServers(tmp_path_factory.mktemp("sentinel", numbered=True))) as servers:
        yield servers


@pytest.fixture
def redis_mode(request: pytest.FixtureRequest) -> str:
    """``standalone`` unless a test is parametrized over modes (``ALL_REDIS_MODES``)."""
    return str(getattr(request, "param", "standalone"))


@pytest.fixture
async def redis_target(
    redis_mode: str, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[str, RedisTopology]]:
    """The session's Redis of this test's mode, emptied for this test: (url, topology)."""
    if redis_mode == "standalone":
        stores: Stores = request.getfixturevalue("stores")
        client = aioredis.Redis.from_url(stores.redis_url)
        try:
            await client.flushdb()
        except OSError as exc:
            unreachable(f"Redis: {exc}")
        finally:
            await client.aclose()
        yield stores.redis_url, STANDALONE
        return
    servers: ClusterServers | SentinelServers = request.getfixturevalue(f"{redis_mode}_servers")
    await asyncio.to_thread(servers.flush)
    yield servers.url, servers.topology


@pytest.fixture
def redis_url(redis_target: tuple[str, RedisTopology]) -> str:
    return redis_target[0]


@pytest.fixture
def redis_topology(redis_target: tuple[str, RedisTopology]) -> RedisTopology:
    return redis_target[1]


@pytest.fixture
async def redis(redis_url: str, redis_topology: RedisTopology) -> AsyncIterator[aioredis.Redis]:
    client = create_redis(redis_url, topology=redis_topology)
    await prepare(client)
    yield client
    await client.aclose()


@pytest.fixture
def settings(
    database_url: str, redis_url: str, redis_topology: RedisTopology, tmp_path: Path
) -> RouterSettings:
    return RouterSettings(
        database_url=database_url,
        redis_url=redis_url,
        redis_topology=redis_topology,
        data_dir=tmp_path / "data",
        log_level="WARNING",
    )


@pytest.fixture
async def app(settings: RouterSettings) -> AsyncIterator[Quart]:
    """A router app with its lifespan running."""
    application = create_app(settings)
    async with application.test_app():
        yield application


@pytest.fixture
def client(app: Quart) -> TestClientProtocol:
    return app.test_client()


@pytest.fixture
def api_key(request: pytest.FixtureRequest) -> KeyFactory:
    """``await api_key(role, communities=["*"], module_id=None, rate_limit=None, app=None)``.

    Returns a plaintext key minted in the given app's (default: the ``app`` fixture's) store.
    """
    default_app = request.getfixturevalue("app") if "app" in request.fixturenames else None
    return KeyFactory(default_app)


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[EmbeddedRedis]:
    """A Redis only this test uses, kept on disk, so the test can stop and restart it."""
    server = EmbeddedRedis(tmp_path / "own-redis", persist=True)
    await asyncio.to_thread(server.start)
    yield server
    await asyncio.to_thread(server.stop)


@pytest.fixture
async def outage_app(settings: RouterSettings, own_redis: EmbeddedRedis) -> AsyncIterator[Quart]:
    """A router app on ``own_redis``, for tests that take Redis away."""
    application = create_app(replace(settings, redis_url=own_redis.url))
    async with application.test_app():
        yield application


def settings_with(settings: RouterSettings, **changes: object) -> RouterSettings:
    return replace(settings, **changes)  # type: ignore[arg-type]
