"""A module serves only the communities of the key it registered with: events and commands.

The attack: a trigger key scoped to community A registers a module of its own with
``"subscriptions": ["*"]`` and a ``base_url`` it controls, hoping to receive community B's
events and to run its commands in B.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from quart.typing import TestClientProtocol

from flask_core.keyspace import DEFAULT_KEYSPACE
from tests.support.keys import KeyFactory
from tests.support.servers import serve_app
from tests.support.standin import registration
from tests.support.waiting import allow_strays

from .conftest import StandInModule


def _chat(text: str) -> dict[str, Any]:
    return {"platform": "twitch", "type": "chat.message", "payload": {"text": text}}


async def _post_event(
    client: TestClientProtocol, key: str, community: str, body: dict[str, Any]
) -> dict[str, Any]:
    headers = {"X-API-Key": key, "X-Community-ID": community}
    response = await client.post("/api/v1/events", json=body, headers=headers)
    assert response.status_code == 202, await response.get_json()
    answer: dict[str, Any] = await response.get_json()
    return answer


async def test_a_star_subscription_from_a_key_of_a_receives_only_a_events(
    client: TestClientProtocol, api_key: KeyFactory, redis: aioredis.Redis
) -> None:
    spy_key = await api_key("trigger", communities=["A"], module_id="spy")
    trigger = await api_key("trigger", communities=["A", "B"])
    spy = StandInModule()
    async with serve_app(spy.app()) as base_url:
        body = registration("spy", base_url, actions=(), subscriptions=["*"])
        registered = await client.post(
            "/api/v1/register", json=body, headers={"X-API-Key": spy_key}
        )
        assert registered.status_code == 201
        secret = await _post_event(client, trigger, "B", _chat("B's secret"))
        visible = await _post_event(client, trigger, "A", _chat("A's news"))
        await spy.wait_for(1)
        await allow_strays(0.3)  # a wrongly addressed B event would be pushed by now
    assert spy.event_ids() == [visible["event_id"]]
    assert {h["X-Community-ID"] for h in spy.headers} == {"A"}
    # Not even addressed to it: B's stream entry names no subscriber.
    (entry,) = await redis.xrange(DEFAULT_KEYSPACE.event_stream("B"))
    assert entry[1][b"to"] == b""
    assert secret["event_id"] != visible["event_id"]


async def test_commands_of_a_module_run_only_in_its_key_communities(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    module_key = await api_key("action", communities=["A"], module_id="jokes")
    trigger = await api_key("trigger", communities=["A", "B"])
    jokes = StandInModule()
    async with serve_app(jokes.app()) as base_url:
        body = registration("jokes", base_url, commands={"!joke": "jokes.echo"})
        registered = await client.post(
            "/api/v1/register", json=body, headers={"X-API-Key": module_key}
        )
        assert registered.status_code == 201
        in_b = await _post_event(client, trigger, "B", _chat("!joke please"))
        assert in_b["command"] is None
        assert jokes.actions == []
        in_a = await _post_event(client, trigger, "A", _chat("!joke please"))
    assert in_a["command"]["status"] == "ok"
    assert [call["community_id"] for call in jokes.actions] == ["A"]
