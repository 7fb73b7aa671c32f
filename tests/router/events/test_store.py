from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from flask_core.keyspace import DEFAULT_KEYSPACE
from router.events.models import GROUPS_KEY, build_envelope, stream_key
from router.events.store import EventStore
from tests.support.stores import ALL_REDIS_MODES

pytestmark = ALL_REDIS_MODES


def _event(**overrides: Any) -> dict[str, Any]:
    return {"platform": "twitch", "type": "chat.message", "payload": {"text": "hi"}, **overrides}


def _store(redis: aioredis.Redis) -> EventStore:
    return EventStore(redis, dedup_ttl=60, stream_maxlen=1000)


async def test_one_envelope_per_event_and_nothing_from_other_communities(
    redis: aioredis.Redis, listen: Callable[..., Any]
) -> None:
    store = _store(redis)
    async with listen("events.c1.*") as listener:
        mine = [build_envelope(_event(), "c1", "twitch") for _ in range(5)]
        for envelope in mine:
            assert await store.accept(envelope, [])
        assert await store.accept(build_envelope(_event(), "c2", "twitch"), [])
        messages = await listener.collect()
    assert [body["event_id"] for _, body in messages] == [e.event_id for e in mine]
    assert {channel for channel, _ in messages} == {"events.c1.chat.message"}
    assert messages[0][1] == mine[0].as_dict()


async def test_a_duplicate_id_publishes_and_appends_nothing(
    redis: aioredis.Redis, listen: Callable[..., Any]
) -> None:
    store = _store(redis)
    first = build_envelope(_event(event_id="6a1b0d43-3f0e-4b8e-9a43-2b1f3c7c9d11"), "c1", "t")
    again = build_envelope(_event(event_id=first.event_id, payload={"text": "x"}), "c1", "t")
    async with listen("events.c1.*") as listener:
        assert await store.accept(first, []) is True
        assert await store.accept(again, []) is False
        messages = await listener.collect()
    assert len(messages) == 1
    assert await redis.xlen(stream_key("c1")) == 1
    # the same id in another community is another event
    assert await store.accept(build_envelope(_event(event_id=first.event_id), "c2", "t"), [])


async def test_a_module_group_starts_at_its_first_subscribed_event(redis: aioredis.Redis) -> None:
    store = _store(redis)
    before = build_envelope(_event(), "c1", "t")
    await store.accept(before, [])
    subscribed = [build_envelope(_event(), "c1", "t") for _ in range(3)]
    for envelope in subscribed:
        await store.accept(envelope, ["quotes"])
    assert await redis.smembers(GROUPS_KEY) == {b"quotes|c1"}
    reply = await redis.xreadgroup("quotes", "me", {stream_key("c1"): ">"}, count=10)
    entries = reply[0][1]
    assert [e[1][b"to"] for e in entries] == [b"quotes"] * 3
    assert len(entries) == 3


async def test_a_claimed_id_is_appended_once_by_the_claims_own_attempt(
    redis: aioredis.Redis,
) -> None:
    store = _store(redis)
    spooled = build_envelope(_event(), "c1", "t")
    assert await store.claim(spooled, "claim-a") is True
    assert await store.claim(spooled, "claim-b") is False  # a re-sent copy elsewhere
    assert await store.accept(spooled, [], "claim-b") is False
    assert await redis.xlen(stream_key("c1")) == 0  # claimed, still waiting in a spool
    assert await store.accept(spooled, [], "claim-a") is True  # the line's replay
    assert await store.accept(spooled, [], "claim-a") is True  # replayed again: in, once
    assert await store.claim(spooled, "claim-a") is True
    assert await store.accept(spooled, [], "claim-b") is False
    assert await store.accept(spooled, []) is False
    assert await redis.xlen(stream_key("c1")) == 1


async def test_a_seen_key_of_another_type_is_a_duplicate_not_a_stuck_replay(
    redis: aioredis.Redis,
) -> None:
    store = _store(redis)
    envelope = build_envelope(_event(), "c1", "t")
    await redis.hset(DEFAULT_KEYSPACE.event_seen("c1", envelope.event_id), "x", "1")
    assert await store.claim(envelope, "claim-a") is False
    assert await store.accept(envelope, [], "claim-a") is False
    assert await redis.xlen(stream_key("c1")) == 0
