"""flask_core.events: the modules' pub/sub subscriber, on a real Redis."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from flask_core.embedded import EmbeddedRedis
from flask_core.events import (
    EventSubscriber,
    Message,
    SlowConsumerPolicy,
    event_pattern,
    response_pattern,
)
from flask_core.redis_client import create_redis


async def _publish_until_seen(
    redis: aioredis.Redis, subscriber: EventSubscriber, channel: str, count: int
) -> None:
    for index in range(count):
        await redis.publish(channel, json.dumps({"n": index}))
    for _ in range(200):
        if subscriber.queued + subscriber.dropped >= count:
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("messages did not arrive")


async def test_receives_decoded_messages_of_its_patterns_only(redis: aioredis.Redis) -> None:
    patterns = [event_pattern("c1"), response_pattern("c1", "twitch")]
    async with EventSubscriber(redis, patterns) as subscriber:
        await redis.publish("events.c2.chat.message", json.dumps({"other": True}))
        await redis.publish("events.c1.chat.message", json.dumps({"a": 1}))
        await redis.publish("responses.c1.discord", json.dumps({"other": True}))
        await redis.publish("responses.c1.twitch", json.dumps({"b": 2}))
        await redis.publish("events.c1.bad", b"not json")
        first = await asyncio.wait_for(subscriber.get(), 5)
        second = await asyncio.wait_for(subscriber.get(), 5)
        await asyncio.sleep(0.1)
        assert subscriber.queued == 0
        assert subscriber.undecodable == 1
    assert first == Message("events.c1.chat.message", {"a": 1})
    assert second == Message("responses.c1.twitch", {"b": 2})


@pytest.mark.parametrize(
    ("policy", "kept"),
    [(SlowConsumerPolicy.DROP_OLDEST, [7, 8, 9]), (SlowConsumerPolicy.DROP_NEWEST, [0, 1, 2])],
)
async def test_a_slow_consumer_never_grows_the_queue(
    redis: aioredis.Redis, policy: SlowConsumerPolicy, kept: list[int]
) -> None:
    async with EventSubscriber(redis, ["events.c1.*"], maxsize=3, policy=policy) as subscriber:
        await _publish_until_seen(redis, subscriber, "events.c1.x", 10)
        assert subscriber.dropped == 7
        assert subscriber.queued == 3
        held = [(await subscriber.get()).data["n"] for _ in range(3)]
    assert held == kept


async def test_subscribes_again_after_redis_restarts(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path, persist=False)
    url = await asyncio.to_thread(server.start)
    client = create_redis(url)
    try:
        subscriber = EventSubscriber(client, ["events.c1.*"], reconnect_seconds=0.05)
        async with subscriber:
            await asyncio.to_thread(server.stop)
            await asyncio.to_thread(server.start)
            for _ in range(200):
                if await client.pubsub_numpat() == 1:  # the pattern is back on the new server
                    break
                await asyncio.sleep(0.05)
            await client.publish("events.c1.chat.message", json.dumps({"back": True}))
            message = await asyncio.wait_for(subscriber.get(), 5)
        assert message.data == {"back": True}
    finally:
        await client.aclose()
        await asyncio.to_thread(server.stop)
