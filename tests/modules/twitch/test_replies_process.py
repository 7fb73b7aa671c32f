"""Chat replies end to end: router, quotes and twitch as real processes, Twitch's API stood in.

A signed ``!addquote hello`` then ``!quote`` in community A ends with ``#1: hello`` posted to
the stand-in Helix in A's channel, threaded under the chat message; B never sees A's quote; a
Twitch module that was stopped still posts, once back, the replies it missed; and ``say``
prints the bot's answer.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from modules.twitch.signing import chat_message, sign_eventsub
from router.settings import RouterSettings
from tests.support.hub import RunningRouter, running_router
from tests.support.platforms import Posted, twitch_api
from tests.support.processes import REPO, module_process
from tests.support.servers import free_port, serve_app

pytestmark = pytest.mark.slow

WEBHOOK_SECRET = "e2e-webhook-secret"
CHANNEL_A, CHANNEL_B = "1001", "2002"
BOT = "9001"
SAY = (sys.executable, "-m", "modules.twitch", "say")


@dataclass
class Hub:
    router: RunningRouter
    helix: Posted
    module_env: dict[str, str]
    twitch_port: int


@pytest.fixture
async def hub(settings: RouterSettings, database_url: str, redis_url: str) -> AsyncIterator[Hub]:
    helix = Posted()
    async with running_router(settings) as router, serve_app(twitch_api(helix)) as twitch_url:
        await router.link("a", "twitch", CHANNEL_A)
        await router.link("b", "twitch", CHANNEL_B)
        module_env = {
            "ROUTER_URL": router.url,
            "REDIS_URL": redis_url,
            "TWITCH_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "TWITCH_CLIENT_ID": "e2e-client",
            "TWITCH_CLIENT_SECRET": "e2e-client-secret",
            "TWITCH_BOT_USER_ID": BOT,
            "TWITCH_API_BASE": twitch_url,
            "TWITCH_AUTH_BASE": twitch_url,
            "ROUTER_API_KEY": await router.key("trigger", "twitch"),
        }
        quotes_env = {
            "ROUTER_URL": router.url,
            "DATABASE_URL": database_url,
            "ROUTER_API_KEY": await router.key("action", "quotes"),
        }
        async with module_process("quotes", free_port(), quotes_env):
            await router.wait_registered("quotes")
            yield Hub(router, helix, module_env, free_port())


async def _chat(twitch_url: str, channel: str, text: str) -> str:
    """Send a signed chat message as Twitch would; its Twitch message id."""
    message = chat_message(channel, text)
    signed = sign_eventsub(WEBHOOK_SECRET.encode(), "notification", message)
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{twitch_url}/webhooks/twitch", content=signed.body, headers=signed.headers
        )
    assert answer.status_code == 204, answer.text
    return str(message["event"]["message_id"])


async def test_quotes_come_back_to_the_right_chat_even_after_a_restart(hub: Hub) -> None:
    async with module_process("twitch", hub.twitch_port, hub.module_env) as twitch:
        await hub.router.wait_registered("twitch")
        await _chat(twitch, CHANNEL_A, "!addquote hello")
        await hub.helix.wait_until({"broadcaster_id": CHANNEL_A, "message": "Added quote #1."})
        asked = await _chat(twitch, CHANNEL_A, "!quote")
        reply = await hub.helix.wait_until({"broadcaster_id": CHANNEL_A, "message": "#1: hello"})
        assert reply == {
            "broadcaster_id": CHANNEL_A,
            "sender_id": BOT,
            "message": "#1: hello",
            "reply_parent_message_id": asked,
        }
        assert hub.helix.headers[-1]["client-id"] == "e2e-client"
        assert hub.helix.token_grants[0]["grant_type"] == "client_credentials"

        await _chat(twitch, CHANNEL_B, "!quote")
        other = await hub.helix.wait_until({"broadcaster_id": CHANNEL_B})
        assert other["message"] == "No quotes yet."

    # The module is stopped (it deregistered): replies wait in the router meanwhile.
    await hub.router.wait_registered("twitch", serving=False)
    posted_before = len(hub.helix.messages)
    missed = await hub.router.admin.post(
        "/api/v1/events",
        json={
            "platform": "twitch",
            "type": "chat.message",
            "channel_id": CHANNEL_A,
            "payload": {"text": "!quote 1", "message_id": "missed-1"},
        },
        headers={"X-API-Key": await hub.router.key("trigger"), "X-Community-ID": "a"},
    )
    assert missed.status_code == 202, missed.text
    assert missed.json()["command"]["status"] == "ok"
    await asyncio.sleep(2)
    assert len(hub.helix.messages) == posted_before

    async with module_process("twitch", hub.twitch_port, hub.module_env):
        late = await hub.helix.wait_until({"reply_parent_message_id": "missed-1"})
    assert late["message"] == "#1: hello" and late["broadcaster_id"] == CHANNEL_A
    assert [m for m in hub.helix.messages if m["broadcaster_id"] == CHANNEL_B] == [other]


async def test_say_prints_the_bot_s_answer(hub: Hub, tmp_path: Path) -> None:
    data_dir = tmp_path / "say"
    (data_dir / "hub").mkdir(parents=True)
    (data_dir / "hub" / "twitch_webhook_secret").write_text(WEBHOOK_SECRET)
    (data_dir / "hub" / "redis_url").write_text(hub.module_env["REDIS_URL"])
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "TWITCH_WEBHOOK_SECRET")
    }
    env["ROUTER_DATA_DIR"] = str(data_dir)
    async with module_process("twitch", hub.twitch_port, hub.module_env) as twitch:
        await hub.router.wait_registered("twitch")
        said = await asyncio.to_thread(
            subprocess.run,
            [*SAY, "!addquote hi there", "--channel", CHANNEL_A, "--url", twitch],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert said.returncode == 0, said.stderr
    assert "bot: Added quote #1." in said.stdout
