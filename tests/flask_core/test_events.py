"""flask_core.events: the modules' pub/sub subscriber, on a real Redis."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from quart import Quart

from flask_core.api import install_request_plumbing
from flask_core.events import (
    EVENTS_CLAIM,
    EventSubscriber,
    Message,
    SlowConsumerPolicy,
    event_pattern,
    mount_event_receiver,
    response_pattern,
)
from flask_core.redis_client import create_redis
from flask_core.router_only.embedded import EmbeddedRedis
from flask_core.tokens import JwksCache, RouterTokenVerifier, SigningKey, UsedTokenIds
from tests.support.servers import serve_app
from tests.support.waiting import eventually, wait_until


async def _publish_until_seen(
    redis: aioredis.Redis, subscriber: EventSubscriber, channel: str, count: int
) -> None:
    for index in range(count):
        await redis.publish(channel, json.dumps({"n": index}))
    await wait_until(
        lambda: subscriber.queued + subscriber.dropped >= count, what=f"{count} messages taken"
    )


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
        # Published last, so once it is counted every message before it was handled too.
        await wait_until(lambda: subscriber.undecodable >= 1, what="the bad message counted")
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

            async def subscribed_again() -> bool:  # the pattern is back on the new server
                return await client.pubsub_numpat() == 1

            await eventually(subscribed_again, interval=0.05)
            await client.publish("events.c1.chat.message", json.dumps({"back": True}))
            message = await asyncio.wait_for(subscriber.get(), 5)
        assert message.data == {"back": True}
    finally:
        await client.aclose()
        await asyncio.to_thread(server.stop)


async def test_the_push_receiver_takes_only_the_routers_events_for_this_module() -> None:
    signing_key = SigningKey.from_private(Ed25519PrivateKey.generate())
    jwks_app = Quart("router-jwks")

    @jwks_app.get("/.well-known/jwks.json")
    async def jwks() -> dict[str, Any]:
        return signing_key.jwks()

    handled: list[dict[str, Any]] = []

    async def handle(envelope: dict[str, Any]) -> None:
        if envelope["payload"].get("explode"):
            raise RuntimeError("the module could not store it")
        handled.append(envelope)

    def token(body: bytes, audience: str = "archive", claim: str = EVENTS_CLAIM) -> str:
        return signing_key.issue(
            audience=audience, subject="router", community_id="c1", action_id=claim, body=body
        )

    envelope = {"event_id": "e1", "community_id": "c1", "payload": {}}
    async with serve_app(jwks_app) as router_url, httpx.AsyncClient() as http:
        module = Quart("archive")
        install_request_plumbing(module)
        cache = JwksCache(http, f"{router_url}/.well-known/jwks.json")
        mount_event_receiver(
            module, RouterTokenVerifier(cache, "archive", UsedTokenIds(None)), handle
        )
        client = module.test_client()

        async def push(
            body: dict[str, Any],
            bearer: str | None = "",
            community: str = "c1",
            **claims: str,
        ) -> int:
            content = json.dumps(body).encode()
            headers = {"X-Community-ID": community, "Content-Type": "application/json"}
            if bearer is not None:
                headers["Authorization"] = f"Bearer {bearer or token(content, **claims)}"
            return (await client.post("/events", data=content, headers=headers)).status_code

        assert await push(envelope) == 204
        assert await push(envelope, None) == 401
        assert await push(envelope, audience="other") == 401
        assert await push(envelope, claim="quote.random") == 401
        assert await push(envelope, community="c2") == 401
        assert await push({**envelope, "community_id": "c2"}) == 400
        assert await push({**envelope, "payload": {"explode": True}}) == 500
        # Bound to its body and single-use: a captured push cannot carry another event, nor
        # be played again.
        captured = token(json.dumps(envelope).encode())
        assert await push({**envelope, "event_id": "e2"}, captured) == 401
        assert await push(envelope, captured) == 204
        assert await push(envelope, captured) == 401
    assert handled == [envelope, envelope]
