"""The Discord module end to end: signed interactions, commands answered through the router."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import respx
from nacl.signing import SigningKey

from flask_core.module import ActionCall, ModuleBase, ModuleSettings
from modules.discord.module import DiscordModule, DiscordSettings
from tests.support.pubsub import PubSubCollector
from tests.support.servers import free_port, serve_app
from tests.support.waiting import wait_until

from ..conftest import LiveRouter, wait_running

GUILD = "81384788765712384"
APPLICATION = "app-123"
DISCORD_API = "https://discord.test/api/v10"
SIGNER = SigningKey.generate()


@dataclass
class Discord:
    url: str
    http: httpx.AsyncClient

    async def send(
        self, path: str, body: dict[str, Any], signer: SigningKey = SIGNER
    ) -> httpx.Response:
        raw = json.dumps(body).encode()
        stamp = str(int(time.time()))
        signature = signer.sign(stamp.encode() + raw).signature.hex()
        headers = {
            "X-Signature-Ed25519": signature,
            "X-Signature-Timestamp": stamp,
            "Content-Type": "application/json",
        }
        return await self.http.post(f"{self.url}{path}", content=raw, headers=headers)


def command(name: str, *values: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": 2,
        "token": "interaction-token",
        "guild_id": GUILD,
        "channel_id": "555",
        "member": {"user": {"id": "42"}},
        "data": {"name": name, "options": [{"name": "arg", "value": v} for v in values]},
    }


def pinger(router_url: str, key: str) -> ModuleBase:
    """A stand-in action module with a fast and a slow command."""
    module = ModuleBase(ModuleSettings("pinger", "1.0.0", free_port(), router_url, key))

    @module.action("ping.fast")
    async def fast(call: ActionCall) -> dict[str, str]:
        return {"text": f"pong {call.params.get('text', '')}".strip()}

    @module.action("ping.slow", timeout_ms=8000)
    async def slow(call: ActionCall) -> dict[str, str]:
        await asyncio.sleep(3.5)  # past Discord's 3 s to answer: the module must defer
        return {"text": "slow pong"}

    module.command("!ping", "ping.fast")
    module.command("!slow", "ping.slow")
    return module


@pytest.fixture
async def discord(live_router: LiveRouter) -> AsyncIterator[Discord]:
    await live_router.link("guild1", "discord", GUILD)
    keys, app = live_router.keys, live_router.app
    actions = pinger(live_router.url, await keys("action", module_id="pinger", app=app))
    settings = DiscordSettings(
        ModuleSettings(
            "discord",
            "0.1.0",
            free_port(),
            live_router.url,
            await keys("trigger", module_id="discord", app=app),
        ),
        public_key=SIGNER.verify_key.encode().hex(),
        application_id=APPLICATION,
        api_base=DISCORD_API,
    )
    module = DiscordModule(settings)
    async with (
        serve_app(actions.app, actions.settings.port),
        serve_app(module.app, settings.module.port) as url,
    ):
        await wait_running(actions)
        await wait_running(module)
        yield Discord(url, live_router.http)


async def test_ping_and_bad_signatures(discord: Discord) -> None:
    pong = await discord.send("/webhooks/discord/interactions", {"type": 1})
    assert pong.status_code == 200 and pong.json() == {"type": 1}
    forged = await discord.send(
        "/webhooks/discord/interactions", {"type": 1}, signer=SigningKey.generate()
    )
    assert forged.status_code == 401
    unsigned = await discord.http.post(
        f"{discord.url}/webhooks/discord/interactions", json={"type": 1}
    )
    assert unsigned.status_code == 401


async def test_a_command_is_answered_with_the_action_result(discord: Discord) -> None:
    response = await discord.send("/webhooks/discord/interactions", command("ping", "there"))
    assert response.status_code == 200
    assert response.json() == {"type": 4, "data": {"content": "pong there"}}


async def test_an_unknown_command_gets_an_ephemeral_answer(discord: Discord) -> None:
    response = await discord.send("/webhooks/discord/interactions", command("nope"))
    assert response.json()["type"] == 4
    assert response.json()["data"]["flags"] == 64


async def test_a_slow_command_is_deferred_then_edited(discord: Discord) -> None:
    with respx.mock(assert_all_called=True) as mock:
        mock.route(host="127.0.0.1").pass_through()
        edit = mock.patch(
            f"{DISCORD_API}/webhooks/{APPLICATION}/interaction-token/messages/@original"
        ).mock(return_value=httpx.Response(200, json={}))
        response = await discord.send("/webhooks/discord/interactions", command("slow"))
        assert response.json() == {"type": 5}
        await wait_until(lambda: edit.called, what="the deferred answer edited in")
        assert json.loads(edit.calls.last.request.content) == {"content": "slow pong"}


async def test_webhook_events_ping_and_forward(discord: Discord, redis: aioredis.Redis) -> None:
    ping = await discord.send("/webhooks/discord/events", {"version": 1, "type": 0})
    assert ping.status_code == 204
    event = {
        "version": 1,
        "type": 1,
        "event": {
            "type": "APPLICATION_AUTHORIZED",
            "timestamp": "2026-11-23T10:00:00.000000+00:00",
            "data": {"user": {"id": "42"}, "guild": {"id": GUILD}, "scopes": ["bot"]},
        },
    }
    async with PubSubCollector(redis, "events.guild1.*") as published:
        response = await discord.send("/webhooks/discord/events", event)
        assert response.status_code == 204
        await published.wait_for(1)
        messages = published.envelopes()
    assert messages[0]["channel"] == "events.guild1.APPLICATION_AUTHORIZED"
    assert messages[0]["user_id"] == "discord:42"
