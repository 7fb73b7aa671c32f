"""The Twitch module end to end: signed EventSub webhooks in, router events on Redis out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from flask_core.module import ModuleSettings
from modules.twitch.module import TwitchModule, TwitchSettings
from modules.twitch.signing import chat_message, eventsub_timestamp, sign_eventsub
from tests.support.pubsub import PubSubCollector
from tests.support.servers import free_port, serve_app
from tests.support.waiting import allow_strays

from ..conftest import LiveRouter, wait_running

SECRET = b"eventsub-test-secret"
BROADCASTER = "44429626"


@dataclass
class Twitch:
    url: str
    http: httpx.AsyncClient

    async def send(
        self,
        kind: str,
        body: dict[str, Any],
        *,
        message_id: str | None = None,
        age: timedelta = timedelta(0),
        secret: bytes = SECRET,
    ) -> httpx.Response:
        signed = sign_eventsub(
            secret, kind, body, message_id=message_id, timestamp=eventsub_timestamp(age)
        )
        return await self.http.post(
            f"{self.url}/webhooks/twitch", content=signed.body, headers=signed.headers
        )


def chat(text: str, chatter: str = "1001") -> dict[str, Any]:
    return chat_message(BROADCASTER, text, chatter_id=chatter)


@pytest.fixture
async def twitch(live_router: LiveRouter, redis_url: str) -> AsyncIterator[Twitch]:
    await live_router.link("stream1", "twitch", BROADCASTER)
    port = free_port()
    module_key = await live_router.keys("trigger", module_id="twitch", app=live_router.app)
    settings = TwitchSettings(
        ModuleSettings("twitch", "0.1.0", port, live_router.url, module_key),
        webhook_secret=SECRET,
        redis_url=redis_url,
    )
    module = TwitchModule(settings)
    async with serve_app(module.app, port) as url:
        await wait_running(module)
        yield Twitch(url, live_router.http)


async def test_challenge_is_echoed_as_plain_text(twitch: Twitch) -> None:
    response = await twitch.send("webhook_callback_verification", {"challenge": "pogchamp-42"})
    assert response.status_code == 200
    assert response.text == "pogchamp-42"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    ("age", "secret"),
    [
        (timedelta(0), b"wrong-secret"),
        (timedelta(minutes=11), SECRET),
        (timedelta(minutes=-2), SECRET),
    ],
)
async def test_bad_signature_or_timestamp_is_403(
    twitch: Twitch, age: timedelta, secret: bytes
) -> None:
    response = await twitch.send("notification", chat("hi"), age=age, secret=secret)
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


async def test_missing_signature_is_403(twitch: Twitch) -> None:
    response = await twitch.http.post(f"{twitch.url}/webhooks/twitch", json=chat("hi"))
    assert response.status_code == 403


async def test_chat_message_reaches_the_router_once(twitch: Twitch, redis: aioredis.Redis) -> None:
    async with PubSubCollector(redis, "events.stream1.*") as published:
        first = await twitch.send("notification", chat("hello chat"), message_id="m-1")
        again = await twitch.send("notification", chat("hello chat"), message_id="m-1")
        assert first.status_code == 204 and again.status_code == 204
        await published.wait_for(1)
        messages = published.envelopes()
        await allow_strays(0.5)  # room for a wrongly repeated event to show up
    assert len(published.messages) == 1
    envelope = messages[0]
    assert envelope["channel"] == "events.stream1.chat.message"
    assert envelope["platform"] == "twitch" and envelope["type"] == "chat.message"
    assert envelope["payload"]["text"] == "hello chat"
    assert envelope["user_id"] == "twitch:1001"
    assert envelope["channel_id"] == BROADCASTER


async def test_revocation_is_forwarded(twitch: Twitch, redis: aioredis.Redis) -> None:
    revoked = {
        "subscription": {
            "id": "sub-1",
            "type": "channel.follow",
            "status": "authorization_revoked",
            "condition": {"broadcaster_user_id": BROADCASTER},
        }
    }
    async with PubSubCollector(redis, "events.stream1.subscription.revoked") as published:
        response = await twitch.send("revocation", revoked)
        assert response.status_code == 204
        await published.wait_for(1)
        messages = published.envelopes()
    assert messages[0]["payload"]["status"] == "authorization_revoked"
