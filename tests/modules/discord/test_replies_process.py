"""Discord replies end to end: router, quotes and discord as real processes, Discord stood in.

Slash commands are answered inline (and not posted a second time when their durable reply
arrives); a module's ``POST /api/v1/responses`` for a Discord channel is posted there with the
bot token; ``say`` prints the bot's answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from nacl.signing import SigningKey

from modules.discord.say import interaction, signed_headers
from router.settings import RouterSettings
from tests.support.hub import RunningRouter, running_router
from tests.support.platforms import Posted, discord_api
from tests.support.processes import REPO, module_process
from tests.support.servers import free_port, serve_app

pytestmark = pytest.mark.slow

GUILD, CHANNEL = "81384788765712384", "555000000000000001"
SEED = bytes(range(32))
SAY = (sys.executable, "-m", "modules.discord", "say")


@dataclass
class Hub:
    router: RunningRouter
    discord: Posted
    url: str


@pytest.fixture
async def hub(settings: RouterSettings, database_url: str, redis_url: str) -> AsyncIterator[Hub]:
    posted = Posted()
    async with running_router(settings) as router, serve_app(discord_api(posted)) as api:
        await router.link("g", "discord", GUILD)
        discord_env = {
            "ROUTER_URL": router.url,
            "REDIS_URL": redis_url,
            "DISCORD_PUBLIC_KEY": SigningKey(SEED).verify_key.encode().hex(),
            "DISCORD_APPLICATION_ID": "e2e-application",
            "DISCORD_BOT_TOKEN": "e2e-bot-token",
            "DISCORD_API_BASE": api,
            "ROUTER_API_KEY": await router.key("trigger", "discord"),
        }
        quotes_env = {
            "ROUTER_URL": router.url,
            "DATABASE_URL": database_url,
            "ROUTER_API_KEY": await router.key("action", "quotes"),
        }
        async with (
            module_process("quotes", free_port(), quotes_env),
            module_process("discord", free_port(), discord_env) as url,
        ):
            await router.wait_registered("quotes")
            await router.wait_registered("discord")
            yield Hub(router, posted, url)


async def _command(url: str, text: str) -> dict[str, object]:
    raw = json.dumps(interaction(text, GUILD, CHANNEL, "viewer")).encode()
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(
            f"{url}/webhooks/discord/interactions",
            content=raw,
            headers=signed_headers(SigningKey(SEED), raw),
        )
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


async def test_commands_answer_inline_and_responses_reach_the_channel(hub: Hub) -> None:
    added = await _command(hub.url, "/addquote hello")
    assert added == {"type": 4, "data": {"content": "Added quote #1."}}
    quoted = await _command(hub.url, "/quote")
    assert quoted == {"type": 4, "data": {"content": "#1: hello"}}

    module_key = await hub.router.key("action", communities=["g"])
    sent = await hub.router.admin.post(
        "/api/v1/responses",
        json={
            "platform": "discord",
            "channel_id": CHANNEL,
            "text": "a word from a module",
            "in_reply_to": "123456789012345678",
        },
        headers={"X-API-Key": module_key, "X-Community-ID": "g"},
    )
    assert sent.status_code == 202, sent.text
    message = await hub.discord.wait_until({"content": "a word from a module"})
    assert message == {
        "channel_id": CHANNEL,
        "content": "a word from a module",
        "message_reference": {"message_id": "123456789012345678", "fail_if_not_exists": False},
    }
    assert hub.discord.headers[-1]["authorization"] == "Bot e2e-bot-token"
    # Replies reach a module in order per community: the commands' came first, and were
    # not posted again, as the interactions had their answers already.
    assert hub.discord.messages == [message]


async def test_say_prints_the_bot_s_answer(hub: Hub, redis_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "say"
    (data_dir / "hub").mkdir(parents=True)
    (data_dir / "hub" / "discord_signing_key").write_text(SEED.hex())
    (data_dir / "hub" / "redis_url").write_text(redis_url)
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env["ROUTER_DATA_DIR"] = str(data_dir)
    said = await asyncio.to_thread(
        subprocess.run,
        [*SAY, "/addquote hi there", "--guild", GUILD, "--channel", CHANNEL, "--url", hub.url],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert said.returncode == 0, said.stderr
    assert "bot: Added quote #1." in said.stdout
