"""Replies are delivered durably like events: ``response.{platform}`` to its subscribers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quart.typing import TestClientProtocol

from tests.conftest import KeyFactory
from tests.support.servers import serve_app
from tests.support.standin import registration
from tests.support.waiting import allow_strays

from .conftest import StandInModule

CHAT = {"platform": "twitch", "type": "chat.message", "channel_id": "chan", "user_id": "twitch:7"}


def _headers(key: str, community: str = "c1") -> dict[str, str]:
    return {"X-API-Key": key, "X-Community-ID": community}


async def _register(client: TestClientProtocol, key: str, body: dict[str, Any]) -> None:
    response = await client.post("/api/v1/register", json=body, headers={"X-API-Key": key})
    assert response.status_code in (200, 201), await response.get_json()


async def test_command_replies_and_posted_responses_reach_the_platform_module(
    client: TestClientProtocol, api_key: KeyFactory, listen: Callable[..., Any]
) -> None:
    admin = await api_key("admin")
    trigger = await api_key("trigger", communities=["c1"])
    caller = await api_key("action", communities=["c1"])
    quotes, twitch, discord = StandInModule(), StandInModule(), StandInModule()
    async with (
        serve_app(quotes.app()) as quotes_url,
        serve_app(twitch.app()) as twitch_url,
        serve_app(discord.app()) as discord_url,
    ):
        action = {"id": "quote.random", "path": "/actions/quote.random", "timeout_ms": 2000}
        declared = {
            **registration("quotes", quotes_url),
            "actions": [action],
            "commands": [{"name": "!quote", "action": "quote.random"}],
        }
        await _register(client, admin, declared)
        subscribed = registration("twitch", twitch_url, subscriptions=["response.twitch"])
        await _register(client, admin, {**subscribed, "actions": []})
        other = registration("discord", discord_url, subscriptions=["response.discord"])
        await _register(client, admin, {**other, "actions": []})

        async with listen("events.c1.*") as live:
            body = {**CHAT, "payload": {"text": "!quote hi", "message_id": "tw-msg-1"}}
            command = await client.post("/api/v1/events", json=body, headers=_headers(trigger))
            silent = {**CHAT, "payload": {"text": "just chatting"}}
            await client.post("/api/v1/events", json=silent, headers=_headers(trigger))
            posted = await client.post(
                "/api/v1/responses",
                json={"platform": "twitch", "channel_id": "chan", "text": "from a module"},
                headers=_headers(caller),
            )
            assert command.status_code == 202 and posted.status_code == 202
            await twitch.wait_for(2)
            await allow_strays(0.3)  # a stray reply (or one to discord) would come right after
            published = await live.collect()

    event_id = (await command.get_json())["event_id"]
    first, second = twitch.received
    assert (first["type"], first["community_id"], first["source"]) == (
        "response.twitch",
        "c1",
        "router",
    )
    assert first["payload"]["text"] == "quote.random: hi"
    assert first["payload"]["in_reply_to"] == "tw-msg-1"
    assert first["payload"]["payload"]["event_id"] == event_id
    assert first["payload"]["response_id"] == first["event_id"]
    assert second["payload"] == {
        "response_id": (await posted.get_json())["response_id"],
        "channel_id": "chan",
        "text": "from a module",
        "payload": None,
        "in_reply_to": None,
    }
    assert second["event_id"] == second["payload"]["response_id"]
    assert len(twitch.received) == 2
    assert discord.received == []
    # Replies live on responses.*; events.* carries the events only, as before.
    assert [channel for channel, _ in published] == ["events.c1.chat.message"] * 2


async def test_a_trigger_cannot_forge_a_reply(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    trigger = await api_key("trigger", communities=["c1"])
    forged = {**CHAT, "type": "response.twitch", "payload": {"text": "buy followers"}}
    single = await client.post("/api/v1/events", json=forged, headers=_headers(trigger))
    batch = await client.post(
        "/api/v1/events/batch",
        json={"events": [{**CHAT, "payload": {"text": "ok"}}, forged]},
        headers=_headers(trigger),
    )
    assert single.status_code == 400 and batch.status_code == 400
    assert list((await single.get_json())["fields"]) == ["type"]
    assert list((await batch.get_json())["fields"]) == ["events.1.type"]
