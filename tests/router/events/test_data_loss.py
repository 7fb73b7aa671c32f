"""Redis comes back empty: the loss is logged at ERROR, consumer groups, delivery leases and the
registry state are recreated, and the next event reaches its subscribed module."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
from typing import Any

import pytest
from quart import Quart

from flask_core.router_only.embedded import EmbeddedRedis
from router.events.models import group_member
from router.state import RouterState
from tests.conftest import KeyFactory
from tests.support.servers import free_port, serve_app
from tests.support.standin import registration
from tests.support.waiting import wait_until

from .conftest import StandInModule

CHAT = {"platform": "discord", "type": "chat.message", "channel_id": "chan"}


def _restart_empty(server: EmbeddedRedis) -> None:
    """Stop Redis, lose its files (a disk replaced, persistence off), start it again."""
    server.stop()
    for path in server.directory.iterdir():
        if path.name.startswith("appendonly") or path.suffix == ".rdb":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    server.start()


async def test_a_redis_restarted_empty_is_reported_and_delivery_goes_on(
    outage_app: Quart,
    own_redis: EmbeddedRedis,
    api_key: KeyFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    state: RouterState = outage_app.extensions["router"]
    client = outage_app.test_client()
    admin = await api_key("admin", app=outage_app)
    trigger = await api_key("trigger", communities=["c1"], app=outage_app)
    headers = {"X-API-Key": trigger, "X-Community-ID": "c1"}
    module = StandInModule()

    async def send(text: str) -> str:
        response = await client.post(
            "/api/v1/events", json={**CHAT, "payload": {"text": text}}, headers=headers
        )
        assert response.status_code == 202
        event_id: str = (await response.get_json())["event_id"]
        return event_id

    async with serve_app(module.app()) as base_url:
        declared = registration("archive", base_url, subscriptions=["chat.message"])
        registered = await client.post(
            "/api/v1/register", json=declared, headers={"X-API-Key": admin}
        )
        assert registered.status_code == 201
        first = await send("before")
        await wait_until(lambda: first in module.event_ids(), what="the first event delivered")
        await wait_until(lambda: state.epoch.epoch is not None, what="the epoch written")
        before = state.epoch.epoch
        lease_key = state.settings.keyspace.event_lease("archive")

        with caplog.at_level(logging.ERROR):
            await asyncio.to_thread(_restart_empty, own_redis)
            await wait_until(lambda: state.epoch.epoch not in (None, before), what="a new epoch")
        losses = [r for r in caplog.records if "Redis lost its data" in r.getMessage()]
        assert len(losses) == 1

        await _assert_recreated(state, lease_key)
        after = await send("after")
        await wait_until(lambda: after in module.event_ids(), what="the event after the loss")
    assert state.epoch.recoveries == 1
    exposition = await (await client.get("/metrics")).get_data(as_text=True)
    assert "router_redis_data_losses_total 1.0" in exposition


async def _assert_recreated(state: RouterState, lease_key: str) -> None:
    redis, keys = state.redis, state.settings.keyspace
    groups: list[dict[str, Any]] = await redis.xinfo_groups(keys.event_stream("c1"))
    assert [group["name"] for group in groups] == [b"archive"]
    assert await redis.sismember(keys.event_groups, group_member("archive", "c1"))
    assert await redis.sismember(keys.event_community_groups("c1"), "archive")
    # The registry's shared state, back from PostgreSQL.
    leases = await redis.hgetall(keys.registry_leases)
    assert set(leases) == {b"archive/i1"}
    assert float(leases[b"archive/i1"]) > 0
    assert int(await redis.get(keys.registry_version)) > 1_000_000_000_000
    # The last known keys, complete again, so a PostgreSQL outage can still authenticate.
    assert await redis.exists(keys.keys_complete)
    assert await redis.hlen(keys.keys_known) > 0
    # The running deliverer took its lease back instead of stopping.
    holder = state.events.supervisor.holder
    await wait_until(lambda: _holds(state, lease_key, holder), what="the delivery lease retaken")
    assert state.events.supervisor.modules == ["archive"]


async def _holds(state: RouterState, lease_key: str, holder: str) -> bool:
    return await state.redis.get(lease_key) == holder.encode()


def _kill(server: EmbeddedRedis, pid: int) -> None:
    """SIGKILL, as a crash would: no shutdown, no last fsync; then start it on its files."""
    os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)  # our child: reaped, so the restart sees it gone
    server.start()


async def test_a_redis_killed_with_a_backlog_keeps_it_through_its_aof(
    outage_app: Quart,
    own_redis: EmbeddedRedis,
    api_key: KeyFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    state: RouterState = outage_app.extensions["router"]
    client = outage_app.test_client()
    admin = await api_key("admin", app=outage_app)
    trigger = await api_key("trigger", communities=["c1"], app=outage_app)
    headers = {"X-API-Key": trigger, "X-Community-ID": "c1"}
    module, port = StandInModule(), free_port()
    accepted: list[str] = []
    async with serve_app(module.app(), port) as base_url:
        declared = registration("archive", base_url, subscriptions=["chat.message"])
        registered = await client.post(
            "/api/v1/register", json=declared, headers={"X-API-Key": admin}
        )
        assert registered.status_code == 201
    # The module is down: what is accepted now waits in the stream.
    for index in range(20):
        body = {**CHAT, "payload": {"text": f"backlog {index}"}}
        response = await client.post("/api/v1/events", json=body, headers=headers)
        assert response.status_code == 202
        accepted.append((await response.get_json())["event_id"])
    await wait_until(lambda: state.epoch.epoch is not None, what="the epoch written")
    with caplog.at_level(logging.ERROR):
        pid = int((await state.redis.info("server"))["process_id"])
        await asyncio.to_thread(_kill, own_redis, pid)
        async with serve_app(module.app(), port):
            await wait_until(lambda: set(accepted) <= set(module.event_ids()), timeout=30)
    assert not [r for r in caplog.records if "Redis lost its data" in r.getMessage()]
    assert state.epoch.recoveries == 0
    assert list(dict.fromkeys(module.event_ids())) == accepted  # all of them, in order
