"""What the ``say`` commands need from a hub started by ``make run`` (SPEC §11).

They read the local secrets the hub keeps in ``ROUTER_DATA_DIR/hub`` and watch the router's
pub/sub channel ``responses.{community}.{platform}`` for the answer to the message they sent:
that channel carries every command result as soon as the router has it, whatever the platform
module does with it, so the bot's reply shows even when nothing can be posted to a real chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from flask_core.events import response_pattern

REPLY_WAIT_SECONDS = 5.0
REDIS_URL_FILE = "redis_url"  # written by ``python -m router hub``


class HubNotFound(RuntimeError):
    """The local hub's secrets or Redis are not where ``make run`` keeps them."""


def hub_directory() -> Path:
    return Path(os.environ.get("ROUTER_DATA_DIR", ".data")) / "hub"


def hub_secret(name: str) -> str:
    """A secret ``make run`` keeps in ``ROUTER_DATA_DIR/hub/<name>``."""
    path = hub_directory() / name
    try:
        return path.read_text().strip()
    except OSError:
        raise HubNotFound(f"{path} is missing: start the hub with `make run` first") from None


def hub_redis_url() -> str:
    """``REDIS_URL``, else the URL of the Redis the running hub uses."""
    configured = os.environ.get("REDIS_URL", "").strip()
    if configured:
        return configured
    path = hub_directory() / REDIS_URL_FILE
    try:
        return path.read_text().strip()
    except OSError:
        raise HubNotFound(f"{path} is missing: start the hub with `make run` first") from None


def reply_text(message: dict[str, Any]) -> str:
    """What the bot says in a ``responses.*`` message: its text, or the command's result."""
    if isinstance(message.get("text"), str):
        return str(message["text"])
    command = message.get("command") if isinstance(message.get("command"), dict) else {}
    assert isinstance(command, dict)
    if command.get("status") not in (None, "ok"):
        return f"(command {command.get('name')} failed: {command.get('status')})"
    result = command.get("result")
    if isinstance(result, dict):
        for key in ("text", "content", "message"):
            if isinstance(result.get(key), str):
                return str(result[key])
    return json.dumps(result, ensure_ascii=False)


class ReplyWatch:
    """Subscribed before the message goes out, so a fast reply cannot be missed."""

    def __init__(self, redis_url: str, platform: str) -> None:
        self._redis = aioredis.Redis.from_url(redis_url, socket_connect_timeout=2)
        self._pattern = response_pattern("*", platform)
        self._pubsub = self._redis.pubsub()

    async def __aenter__(self) -> ReplyWatch:
        try:
            await self._pubsub.psubscribe(self._pattern)
        except (RedisError, OSError) as error:
            await self._redis.aclose()
            raise HubNotFound(f"the hub's Redis is unreachable ({error})") from None
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()
        await self._redis.aclose()

    async def reply_to(self, event_id: str, seconds: float = REPLY_WAIT_SECONDS) -> str | None:
        """The text of the reply to ``event_id``, or None when none came within ``seconds``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            raw = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
            if raw is None or raw.get("type") != "pmessage":
                continue
            try:
                message = json.loads(raw["data"])
            except ValueError:
                continue
            if isinstance(message, dict) and message.get("in_reply_to") == event_id:
                return reply_text(message)
        return None


@dataclass(frozen=True, slots=True)
class SignedMessage:
    """A platform message signed as the platform signs it, ready to post to its module."""

    platform: str  # "Twitch", "Discord": as the user reads it
    url: str
    body: bytes
    headers: Mapping[str, str]
    shown: str  # how the message is echoed, e.g. "viewer in #channel: !quote"
    no_reply_hint: str


ReadReply = Callable[[httpx.Response, ReplyWatch], Awaitable[str | None]]


async def post_and_print(message: SignedMessage, channel: str, read_reply: ReadReply) -> int:
    """Post ``message`` with the reply channel watched; print the reply. 0 when one came."""
    async with ReplyWatch(hub_redis_url(), channel) as watch:
        async with httpx.AsyncClient(timeout=5) as http:
            try:
                answer = await http.post(message.url, content=message.body, headers=message.headers)
            except httpx.TransportError as error:
                raise HubNotFound(
                    f"the {message.platform} module at {message.url} is unreachable ({error})"
                ) from None
        if answer.status_code >= 300:
            print(
                f"the {message.platform} module refused the message: "
                f"{answer.status_code} {answer.text}"
            )
            return 1
        print(message.shown)
        reply = await read_reply(answer, watch)
    if reply is None:
        print(f"no reply within {REPLY_WAIT_SECONDS:.0f} s ({message.no_reply_hint})")
        return 1
    print(f"bot: {reply}")
    return 0


def run_say(conversation: Coroutine[Any, Any, int]) -> int:
    """Run a ``say`` command; a hub that is not running is exit code 2, said on stderr."""
    try:
        return asyncio.run(conversation)
    except HubNotFound as error:
        print(f"say: {error}", file=sys.stderr)
        return 2
