"""Durable delivery against real Redis and stand-in modules served on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from router.events.deadletters import DeadLetterId, DeadLetters
from router.events.models import build_envelope, stream_key
from router.events.settings import EventSettings
from router.events.store import EventStore
from router.events.supervisor import DeliverySupervisor
from tests.support.servers import free_port, serve_app
from tests.support.stores import ALL_REDIS_MODES
from tests.support.waiting import allow_strays, eventually, wait_until

from .conftest import StandInModule

pytestmark = ALL_REDIS_MODES


@dataclass
class Directory:
    """Where the stand-in modules listen (the registry's role in these engine-level tests)."""

    endpoints: dict[str, str] = field(default_factory=dict)
    unserved: set[str] = field(default_factory=set)  # communities no instance serves now

    async def subscribers(self, event_type: str, community: str) -> list[str]:
        return sorted(self.endpoints)

    async def endpoint(self, module_id: str, community: str) -> str | None:
        return None if community in self.unserved else self.endpoints.get(module_id)


@dataclass
class Engine:
    store: EventStore
    deadletters: DeadLetters
    directory: Directory
    supervisors: list[DeliverySupervisor]

    async def ingest(self, community: str, count: int, module: str = "mod") -> list[str]:
        ids = []
        for index in range(count):
            event = {"platform": "twitch", "type": "chat.message", "payload": {"n": index}}
            envelope = build_envelope(event, community, "twitch")
            assert await self.store.accept(envelope, [module])
            ids.append(envelope.event_id)
        return ids


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel until they end: a Redis client may turn one cancellation into a timeout error,
    which the supervisor's loop survives (as ``BackgroundTasks.drain`` does in the router)."""
    pending = set(tasks)
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.1)


@pytest.fixture
async def engine(redis: aioredis.Redis, fast_events: EventSettings) -> AsyncIterator[Engine]:
    """Two supervisors, as two router workers would run, sharing one Redis."""
    directory = Directory()
    deadletters = DeadLetters(redis, maxlen=100, stream_maxlen=1000)
    async with aiohttp.ClientSession() as http:
        supervisors = [
            DeliverySupervisor(
                redis=redis,
                http=http,
                directory=directory,
                deadletters=deadletters,
                settings=fast_events,
            )
            for _ in range(2)
        ]
        tasks = [asyncio.create_task(s.run()) for s in supervisors]
        yield Engine(
            EventStore(redis, dedup_ttl=60, stream_maxlen=1000), deadletters, directory, supervisors
        )
        await _cancel(tasks)
        for supervisor in supervisors:
            await supervisor.close()


async def _pending(redis: aioredis.Redis, community: str, group: str) -> int:
    summary: Any = await redis.xpending(stream_key(community), group)
    return int(summary["pending"])


async def test_a_module_that_was_down_gets_what_it_missed_in_order(
    engine: Engine, redis: aioredis.Redis
) -> None:
    module = StandInModule()
    port = free_port()
    engine.directory.endpoints["mod"] = f"http://127.0.0.1:{port}"
    async with serve_app(module.app(), port):
        first = await engine.ingest("c1", 3)
        await module.wait_for(3)
    missed = await engine.ingest("c1", 10)
    await allow_strays(0.3)  # the deliverer keeps knocking on a closed port meanwhile
    assert len(module.received) == 3
    async with serve_app(module.app(), port):
        await module.wait_for(13)
    assert module.event_ids() == first + missed
    assert module.headers[0]["X-Community-ID"] == "c1"
    assert module.headers[0]["X-Event-ID"] == first[0]
    assert await _pending(redis, "c1", "mod") == 0
    running = [s.modules for s in engine.supervisors]
    assert sorted(running, key=len) == [[], ["mod"]]  # one deliverer across both "workers"


async def test_order_holds_per_community_with_two_communities(engine: Engine) -> None:
    module = StandInModule()
    async with serve_app(module.app()) as base_url:
        engine.directory.endpoints["mod"] = base_url
        one = await engine.ingest("c1", 8)
        two = await engine.ingest("c2", 8)
        await module.wait_for(16)
    by_community: dict[str, list[str]] = {}
    for envelope in module.received:
        by_community.setdefault(envelope["community_id"], []).append(envelope["event_id"])
    assert by_community == {"c1": one, "c2": two}


async def test_a_community_without_a_reachable_instance_holds_back_no_other(
    engine: Engine,
) -> None:
    module = StandInModule()
    async with serve_app(module.app()) as base_url:
        engine.directory.endpoints["mod"] = base_url
        engine.directory.unserved.add("c1")
        waiting = await engine.ingest("c1", 2)
        first = await engine.ingest("c2", 3)
        await module.wait_for(3)
        later = await engine.ingest("c2", 3)
        await module.wait_for(6)
        assert module.event_ids() == first + later
        engine.directory.unserved.clear()
        await module.wait_for(8)
    assert module.event_ids()[6:] == waiting


async def test_a_module_that_always_fails_ends_in_dead_letters_and_can_be_replayed(
    engine: Engine, redis: aioredis.Redis
) -> None:
    module = StandInModule(fail_with=500)
    async with serve_app(module.app()) as base_url:
        engine.directory.endpoints["mod"] = base_url
        [event_id] = await engine.ingest("c1", 1)
        items: list[dict[str, Any]] = []

        async def buried() -> bool:
            items[:] = await engine.deadletters.list(["c1"], None, 10)
            return bool(items)

        await wait_until(buried, what="a dead letter")
        assert [item["event_id"] for item in items] == [event_id]
        assert items[0]["module_id"] == "mod"
        assert items[0]["attempts"] == 3
        assert items[0]["last_error"] == "HTTP 500"
        assert await _pending(redis, "c1", "mod") == 0

        module.fail_with = None
        await engine.deadletters.replay(DeadLetterId.parse(items[0]["id"]))
        await module.wait_for(1)
    assert module.event_ids() == [event_id]
    assert await engine.deadletters.list(["c1"], None, 10) == []


async def test_what_a_dead_consumer_left_pending_is_reclaimed_in_order(
    redis: aioredis.Redis, fast_events: EventSettings
) -> None:
    store = EventStore(redis, dedup_ttl=60, stream_maxlen=1000)
    ids = []
    for index in range(5):
        event = {"platform": "kick", "type": "chat.message", "payload": {"n": index}}
        envelope = build_envelope(event, "c1", "kick")
        await store.accept(envelope, ["mod"])
        ids.append(envelope.event_id)
    # A consumer read everything, then died before acknowledging; one entry got trimmed.
    taken = await redis.xreadgroup("mod", "dead-worker", {stream_key("c1"): ">"})
    entry_ids = [entry_id for entry_id, _ in taken[0][1]]
    await redis.xdel(stream_key("c1"), entry_ids[1])
    module = StandInModule()
    async with serve_app(module.app()) as base_url, aiohttp.ClientSession() as http:
        supervisor = DeliverySupervisor(
            redis=redis,
            http=http,
            directory=Directory({"mod": base_url}),
            deadletters=DeadLetters(redis, maxlen=100, stream_maxlen=1000),
            settings=fast_events,
        )
        task = asyncio.create_task(supervisor.run())
        await module.wait_for(4)

        async def acknowledged() -> bool:
            return await _pending(redis, "c1", "mod") == 0

        await eventually(acknowledged, timeout=2.0)
        await _cancel([task])
        await supervisor.close()
    assert module.event_ids() == [ids[0], *ids[2:]]
    assert await _pending(redis, "c1", "mod") == 0


async def test_a_stream_deleted_by_hand_gets_its_group_back(
    engine: Engine, redis: aioredis.Redis
) -> None:
    module = StandInModule()
    async with serve_app(module.app()) as base_url:
        engine.directory.endpoints["mod"] = base_url
        first = await engine.ingest("c1", 1)
        await module.wait_for(1)
        await redis.delete(stream_key("c1"))  # the group goes with it
        after = await engine.ingest("c1", 2)
        await module.wait_for(3)
    assert module.event_ids() == first + after
