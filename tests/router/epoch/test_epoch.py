"""The Redis epoch marker: a first start, a restart, and a Redis that lost its data, on every
Redis mode (on a cluster also one master alone losing its data)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
import redis.asyncio as aioredis
from quart import Quart

from router.app import create_app
from router.epoch.markers import CLUSTER_MARKERS, EpochMarkers
from router.epoch.store import EpochStore
from router.settings import RouterSettings
from router.state import RouterState
from tests.support.stores import ALL_REDIS_MODES
from tests.support.topologies import ClusterServers
from tests.support.waiting import wait_until

pytestmark = ALL_REDIS_MODES
LOST = "Redis lost its data"


def _state(app: Quart) -> RouterState:
    state: RouterState = app.extensions["router"]
    return state


def _markers(app: Quart) -> EpochMarkers:
    state = _state(app)
    return EpochMarkers(state.redis, state.settings.keyspace)


async def _epoch_written(app: Quart) -> str:
    watcher = _state(app).epoch
    await wait_until(lambda: watcher.epoch is not None, what="the epoch written or adopted")
    assert watcher.epoch is not None
    return watcher.epoch


async def _markers_read(app: Quart) -> list[str | None]:
    return await _markers(app).read()


def _losses(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.ERROR and LOST in r.getMessage()]


@asynccontextmanager
async def _routers(settings: RouterSettings, count: int) -> AsyncIterator[list[Quart]]:
    """``count`` router apps (replicas) on the same PostgreSQL and Redis."""
    async with AsyncExitStack() as stack:
        apps = [create_app(settings) for _ in range(count)]
        for app in apps:
            await stack.enter_async_context(app.test_app())
        yield apps


async def test_a_first_start_writes_the_epoch_without_alarm(
    app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        epoch = await _epoch_written(app)
        state = _state(app)
        markers = await _markers_read(app)
        assert set(markers) == {epoch}
        assert len(markers) == (
            CLUSTER_MARKERS if state.settings.redis_topology.mode == "cluster" else 1
        )
        assert await EpochStore(state.dal, state.settings.keyspace).get() == epoch
    assert not _losses(caplog)
    assert state.epoch.recoveries == 0


async def test_a_restarted_router_finds_its_epoch_and_raises_no_alarm(
    settings: RouterSettings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        async with _routers(settings, 1) as (first,):
            epoch = await _epoch_written(first)
        async with _routers(settings, 1) as (again,):
            assert await _epoch_written(again) == epoch
            assert _state(again).epoch.recoveries == 0
    assert not _losses(caplog)


async def test_two_replicas_see_an_emptied_redis_and_one_of_them_recreates_it(
    settings: RouterSettings, redis: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        async with _routers(settings, 2) as apps:
            before = await _epoch_written(apps[0])
            await wait_until(lambda: _state(apps[1]).epoch.epoch == before, what="both agree")
            await redis.flushall()
            watchers = [_state(app).epoch for app in apps]

            def both_moved_on() -> bool:
                epochs = {watcher.epoch for watcher in watchers}
                return len(epochs) == 1 and before not in epochs

            await wait_until(both_moved_on, what="both replicas on the new epoch")
            assert set(await _markers_read(apps[0])) == {watchers[0].epoch}
    # One ERROR and one recovery for the fleet: the other replica adopted the result.
    assert len(_losses(caplog)) == 1
    assert sum(watcher.recoveries for watcher in watchers) == 1
    adopted = [r for r in caplog.records if "recreated by another router" in r.getMessage()]
    assert len(adopted) == 1


async def test_a_marker_naming_another_epoch_is_a_loss_too(
    app: Quart, caplog: pytest.LogCaptureFixture, redis: aioredis.Redis
) -> None:
    before = await _epoch_written(app)
    with caplog.at_level(logging.ERROR):
        await redis.set(_markers(app).keys[0], "restored-from-another-day")
        await wait_until(lambda: _state(app).epoch.epoch not in (None, before), what="new epoch")
    assert len(_losses(caplog)) == 1
    assert "restored-from-another-day" in _losses(caplog)[0].getMessage()
    assert set(await _markers_read(app)) == {_state(app).epoch.epoch}


@pytest.mark.redis_modes("cluster")  # only a cluster has masters that can lose their data alone
async def test_one_cluster_master_losing_its_data_is_noticed(
    app: Quart, redis_mode: str, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    servers: ClusterServers = request.getfixturevalue("cluster_servers")
    before = await _epoch_written(app)
    with caplog.at_level(logging.ERROR):
        servers.nodes[1].client().flushall()  # the other two masters keep their markers
        await wait_until(lambda: _state(app).epoch.epoch not in (None, before), what="new epoch")
    message = _losses(caplog)[0].getMessage()
    assert f"of {CLUSTER_MARKERS} epoch markers missing" in message
    assert not message.startswith(f"{LOST}: {CLUSTER_MARKERS} of")  # only that master's
    assert set(await _markers_read(app)) == {_state(app).epoch.epoch}
