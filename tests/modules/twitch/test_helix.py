"""Helix replies against a mocked Twitch API: token, bodies, headers, 429, 5xx, refusals."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx

from flask_core.replies import Outcome, Reply, RetryBudget, TransientFailure
from flask_core.settings import SettingsError
from modules.twitch.helix import MAX_MESSAGE, HelixChat, HelixCredentials
from modules.twitch.module import TwitchSettings

API = "https://api.twitch.test"
AUTH = "https://id.twitch.test"
CREDENTIALS = HelixCredentials(
    client_id="client-1",
    client_secret="secret-1",
    bot_user_id="9001",
    api_base=API,
    auth_base=AUTH,
)
SENT = {"data": [{"message_id": "m-new", "is_sent": True}]}
# Short waits keep the tests quick; the logic is the same as in production.
BUDGET = RetryBudget(attempts=3, seconds=3.0, backoff=0.01)


def reply(text: str = "#1: hello", in_reply_to: str | None = "parent-1") -> Reply:
    return Reply(
        event_id="e-1",
        community_id="stream1",
        platform="twitch",
        channel_id="44429626",
        text=text,
        in_reply_to=in_reply_to,
    )


def token(value: str, expires_in: int = 5000) -> httpx.Response:
    return httpx.Response(
        200, json={"access_token": value, "expires_in": expires_in, "token_type": "bearer"}
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def twitch() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


async def test_token_request_and_message_are_exactly_what_twitch_expects(
    twitch: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    tokens = twitch.post(f"{AUTH}/oauth2/token").mock(return_value=token("tok-1"))
    posts = twitch.post(f"{API}/helix/chat/messages").mock(
        return_value=httpx.Response(200, json=SENT)
    )
    chat = HelixChat(http, CREDENTIALS, BUDGET)

    assert await chat.send(reply()) is Outcome.SENT

    form = tokens.calls[0].request
    assert form.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(httpx.QueryParams(form.content.decode())) == {
        "client_id": "client-1",
        "client_secret": "secret-1",
        "grant_type": "client_credentials",
    }
    sent = posts.calls[0].request
    assert sent.headers["authorization"] == "Bearer tok-1"
    assert sent.headers["client-id"] == "client-1"
    assert json.loads(sent.content) == {
        "broadcaster_id": "44429626",
        "sender_id": "9001",
        "message": "#1: hello",
        "reply_parent_message_id": "parent-1",
    }


async def test_a_reply_without_a_parent_is_not_threaded(
    twitch: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    twitch.post(f"{AUTH}/oauth2/token").mock(return_value=token("tok-1"))
    posts = twitch.post(f"{API}/helix/chat/messages").mock(
        return_value=httpx.Response(200, json=SENT)
    )
    await HelixChat(http, CREDENTIALS, BUDGET).send(reply(in_reply_to=None))
    assert "reply_parent_message_id" not in json.loads(posts.calls[0].request.content)


async def test_the_token_is_cached_between_replies(
    twitch: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    tokens = twitch.post(f"{AUTH}/oauth2/token").mock(return_value=token("tok-1"))
    twitch.post(f"{API}/helix/chat/messages").mock(return_value=httpx.Response(200, json=SENT))
    chat = HelixChat(http, CREDENTIALS, BUDGET)
    for _ in range(3):
        await chat.send(reply())
    assert tokens.call_count == 1


async def test_a_token_near_its_expiry_is_renewed_before_use(
    twitch: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    tokens = twitch.post(f"{AUTH}/oauth2/token").mock(
        side_effect=[token("tok-1", expires_in=0), token("tok-2")]
    )
    posts = twitch.post(f"{API}/helix/chat/messages").mock(
        return_value=httpx.Response(200, json=SENT)
    )
    chat = HelixChat(http, CREDENTIALS, BUDGET)
    await chat.send(reply())
    await chat.send(reply())
    assert tokens.call_count == 2
    assert posts.calls[1].request.headers["authorization"] == "Bearer tok-2"


async def test_a_401_renews_the_token_and_retries_once(
    twitch: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    tokens = twitch.post(f"{AUTH}/oauth2/token").mock(
        side_effect=[token("tok-old"), token("tok-new")]
    )
    posts = twitch.post(f"{API}/helix/chat/messages").mock(
        side_effect=[
            httpx.Response(401, json={"message": "Invalid OAuth token"}),
            httpx.Response(200, json=SENT),
        ]
    )
    assert await HelixChat(http, CREDENTIALS, BUDGET).send(reply()) is Outcome.SENT
    assert tokens.call_count == 2
    assert [call.request.headers["authorization"] for call in posts.calls] == [
        "Bearer tok-old",
        "Bearer tok-new",
    ]


async def test_429_waits_until_ratelimit_reset(
    twitch: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    twitch.post(f"{AUTH}/oauth2/token").mock(return_value=token("tok-1"))
    reset = int(time.time()) + 2  # a Unix epoch in whole seconds, as Twitch sends it
    posts = twitch.post(f"{API}/helix/chat/messages").mock(
        side_effect=[
            httpx.Response(429, headers={"Ratelimit-Reset": str(reset)}),
            httpx.Response(200, json=SENT),
        ]
    )
    assert await HelixChat(http, CREDENTIALS, BUDGET).send(reply()) is Outcome.SENT
    assert posts.call_count == 2
    assert time.time() >= reset - 0.05  # the second call waited for the reset


async def test_429_with_a_reset_beyond_the_budget_is_left_to_the_router(
    twitch: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    twitch.post(f"{AUTH}/oauth2/token").mock(return_value=token("tok-1"))
    reset = int(time.time()) + 60
    posts = twitch.post(f"{API}/helix/chat/messages").mock(
        return_value=httpx.Response(429, headers={"Ratelimit-Reset": str(reset)})
    )
    with pytest.raises(TransientFailure) as failure:
        await HelixChat(http, CREDENTIALS, BUDGET).send(reply())
    assert posts.call_count == 1
    assert failure.value.retry_after > 50


async def test_5xx_is_retried_with_backoff(
    twitch: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    twitch.post(f"{AUTH}/oauth2/token").mock(return_value=token("tok-1"))
    posts = twitch.post(f"{API}/helix/chat/messages").mock(
        side_effect=[httpx.Response(503), httpx.Response(500), httpx.Response(200, json=SENT)]
    )
    assert await HelixChat(http, CREDENTIALS, BUDGET).send(reply()) is Outcome.SENT
    assert posts.call_count == 3


async def test_5xx_that_persists_is_a_transient_failure(
    twitch: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    twitch.post(f"{AUTH}/oauth2/token").mock(return_value=token("tok-1"))
    posts = twitch.post(f"{API}/helix/chat/messages").mock(return_value=httpx.Response(502))
    with pytest.raises(TransientFailure):
        await HelixChat(http, CREDENTIALS, BUDGET).send(reply())
    assert posts.call_count == BUDGET.attempts


@pytest.mark.parametrize("status", [400, 403, 404])
async def test_a_permanent_refusal_is_not_retried(
    twitch: respx.MockRouter, http: httpx.AsyncClient, status: int
) -> None:
    twitch.post(f"{AUTH}/oauth2/token").mock(return_value=token("tok-1"))
    posts = twitch.post(f"{API}/helix/chat/messages").mock(
        return_value=httpx.Response(status, json={"message": "nope"})
    )
    assert await HelixChat(http, CREDENTIALS, BUDGET).send(reply()) is Outcome.REFUSED
    assert posts.call_count == 1


async def test_a_dropped_message_is_a_permanent_refusal(
    twitch: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    twitch.post(f"{AUTH}/oauth2/token").mock(return_value=token("tok-1"))
    dropped = {
        "data": [
            {
                "message_id": "",
                "is_sent": False,
                "drop_reason": {"code": "msg_duplicate", "message": "duplicate"},
            }
        ]
    }
    posts = twitch.post(f"{API}/helix/chat/messages").mock(
        return_value=httpx.Response(200, json=dropped)
    )
    assert await HelixChat(http, CREDENTIALS, BUDGET).send(reply()) is Outcome.REFUSED
    assert posts.call_count == 1


async def test_a_long_message_is_cut_to_500_characters(
    twitch: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    twitch.post(f"{AUTH}/oauth2/token").mock(return_value=token("tok-1"))
    posts = twitch.post(f"{API}/helix/chat/messages").mock(
        return_value=httpx.Response(200, json=SENT)
    )
    await HelixChat(http, CREDENTIALS, BUDGET).send(reply("x" * 600))
    message = json.loads(posts.calls[0].request.content)["message"]
    assert len(message) == MAX_MESSAGE
    assert message.endswith("…")


async def test_bad_credentials_keep_the_reply_for_a_later_retry(
    twitch: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    twitch.post(f"{AUTH}/oauth2/token").mock(
        return_value=httpx.Response(400, json={"message": "invalid client secret"})
    )
    posts = twitch.post(f"{API}/helix/chat/messages")
    with pytest.raises(TransientFailure):
        await HelixChat(http, CREDENTIALS, BUDGET).send(reply())
    assert posts.call_count == 0


BASE_ENV = {
    "ROUTER_URL": "http://127.0.0.1:8000",
    "ROUTER_API_KEY": "rh_key",
    "TWITCH_WEBHOOK_SECRET": "s",
}


def test_without_credentials_replies_are_logged_not_sent() -> None:
    assert TwitchSettings.from_env(BASE_ENV).helix is None


def test_credentials_come_all_together_with_the_api_bases() -> None:
    with pytest.raises(SettingsError, match="TWITCH_CLIENT_SECRET"):
        TwitchSettings.from_env({**BASE_ENV, "TWITCH_CLIENT_ID": "c"})
    full = {
        **BASE_ENV,
        "TWITCH_CLIENT_ID": "c",
        "TWITCH_CLIENT_SECRET": "s2",
        "TWITCH_BOT_USER_ID": "9",
        "TWITCH_API_BASE": "http://127.0.0.1:9999",
    }
    helix = TwitchSettings.from_env(full).helix
    assert helix is not None
    assert (helix.api_base, helix.auth_base) == ("http://127.0.0.1:9999", "https://id.twitch.tv")
    assert "s2" not in repr(helix)
