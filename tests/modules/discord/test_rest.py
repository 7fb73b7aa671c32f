"""Discord replies against a mocked REST API: body, headers, 429, 5xx, refusals, length."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx

from flask_core.replies import Outcome, Reply, RetryBudget, TransientFailure
from modules.discord.interactions import MAX_CONTENT
from modules.discord.rest import DiscordChannels

API = "https://discord.test/api/v10"
CHANNEL = "555000000000000001"
MESSAGES = f"{API}/channels/{CHANNEL}/messages"
BUDGET = RetryBudget(attempts=3, seconds=3.0, backoff=0.01)


def reply(text: str = "#1: hello", in_reply_to: str | None = None) -> Reply:
    return Reply(
        event_id="e-1",
        community_id="guild1",
        platform="discord",
        channel_id=CHANNEL,
        text=text,
        in_reply_to=in_reply_to,
    )


@pytest.fixture
async def channels() -> AsyncIterator[DiscordChannels]:
    async with httpx.AsyncClient() as http:
        yield DiscordChannels(http, "bot-token-1", API, BUDGET)


@pytest.fixture
def discord() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


async def test_the_message_and_bot_token_are_exactly_what_discord_expects(
    discord: respx.MockRouter, channels: DiscordChannels
) -> None:
    posts = discord.post(MESSAGES).mock(return_value=httpx.Response(200, json={"id": "1"}))
    assert await channels.send(reply()) is Outcome.SENT
    sent = posts.calls[0].request
    assert sent.headers["authorization"] == "Bot bot-token-1"
    assert json.loads(sent.content) == {"content": "#1: hello"}


async def test_a_reply_to_a_discord_message_references_it(
    discord: respx.MockRouter, channels: DiscordChannels
) -> None:
    posts = discord.post(MESSAGES).mock(return_value=httpx.Response(200, json={"id": "1"}))
    await channels.send(reply(in_reply_to="123456789012345678"))
    await channels.send(reply(in_reply_to="not-a-discord-id"))
    first, second = (json.loads(call.request.content) for call in posts.calls)
    assert first["message_reference"] == {
        "message_id": "123456789012345678",
        "fail_if_not_exists": False,
    }
    assert "message_reference" not in second


async def test_429_waits_retry_after_from_the_body(
    discord: respx.MockRouter, channels: DiscordChannels
) -> None:
    limited = {"message": "You are being rate limited.", "retry_after": 0.4, "global": False}
    posts = discord.post(MESSAGES).mock(
        side_effect=[httpx.Response(429, json=limited), httpx.Response(200, json={"id": "1"})]
    )
    started = time.monotonic()
    assert await channels.send(reply()) is Outcome.SENT
    assert posts.call_count == 2
    assert time.monotonic() - started >= 0.4


async def test_429_longer_than_the_budget_is_left_to_the_router(
    discord: respx.MockRouter, channels: DiscordChannels
) -> None:
    limited = {"message": "slow down", "retry_after": 42.5, "global": True}
    posts = discord.post(MESSAGES).mock(return_value=httpx.Response(429, json=limited))
    with pytest.raises(TransientFailure) as failure:
        await channels.send(reply())
    assert posts.call_count == 1
    assert failure.value.retry_after == 42.5


async def test_5xx_is_retried(discord: respx.MockRouter, channels: DiscordChannels) -> None:
    posts = discord.post(MESSAGES).mock(
        side_effect=[httpx.Response(502), httpx.Response(200, json={"id": "1"})]
    )
    assert await channels.send(reply()) is Outcome.SENT
    assert posts.call_count == 2


async def test_5xx_that_persists_is_a_transient_failure(
    discord: respx.MockRouter, channels: DiscordChannels
) -> None:
    posts = discord.post(MESSAGES).mock(return_value=httpx.Response(500))
    with pytest.raises(TransientFailure):
        await channels.send(reply())
    assert posts.call_count == BUDGET.attempts


@pytest.mark.parametrize("status", [400, 403, 404])
async def test_a_permanent_refusal_is_not_retried(
    discord: respx.MockRouter, channels: DiscordChannels, status: int
) -> None:
    posts = discord.post(MESSAGES).mock(
        return_value=httpx.Response(status, json={"message": "Missing Access", "code": 50001})
    )
    assert await channels.send(reply()) is Outcome.REFUSED
    assert posts.call_count == 1


async def test_content_is_cut_to_2000_characters(
    discord: respx.MockRouter, channels: DiscordChannels
) -> None:
    posts = discord.post(MESSAGES).mock(return_value=httpx.Response(200, json={"id": "1"}))
    await channels.send(reply("y" * 2500))
    content = json.loads(posts.calls[0].request.content)["content"]
    assert len(content) == MAX_CONTENT
    assert content.endswith("…")
