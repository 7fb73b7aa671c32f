"""Collect what is published on Redis pattern channels while a test runs."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import redis.asyncio as aioredis

from .waiting import DEFAULT_TIMEOUT, allow_strays, wait_until

Published = tuple[str, dict[str, Any]]


class PubSubCollector:
    """``async with PubSubCollector(redis, "events.c1.*") as seen``: decoded messages in order.

    Entering waits for the server to confirm every pattern, so nothing published after the
    block starts can be missed; a background task keeps reading until the block ends.
    """

    def __init__(self, redis: aioredis.Redis, *patterns: str) -> None:
        self._pubsub = redis.pubsub()
        self._patterns = patterns
        self._task: asyncio.Task[None] | None = None
        self._confirmations = 0
        self.messages: list[Published] = []

    async def __aenter__(self) -> PubSubCollector:
        await self._pubsub.psubscribe(*self._patterns)
        await wait_until(self._confirmed, what=f"subscription to {self._patterns}")
        self._task = asyncio.create_task(self._collect())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._pubsub.aclose()

    async def _confirmed(self) -> bool:
        message = await self._pubsub.get_message(timeout=0.05)
        if message is not None:
            self._take(message)
        return self._confirmations == len(self._patterns)

    async def _collect(self) -> None:
        async for item in self._pubsub.listen():
            self._take(item)

    def _take(self, item: dict[str, Any]) -> None:
        if item["type"] == "psubscribe":
            self._confirmations += 1
        elif item["type"] == "pmessage":
            self.messages.append((item["channel"].decode(), json.loads(item["data"])))

    async def wait_for(self, count: int, timeout: float = DEFAULT_TIMEOUT) -> list[Published]:
        """Wait until ``count`` messages arrived; return all collected so far."""
        await wait_until(
            lambda: len(self.messages) >= count, timeout, what=f"{count} published message(s)"
        )
        return self.messages

    async def collect(self, quiet: float = 0.3) -> list[Published]:
        """Every message until none has arrived for ``quiet`` seconds (strays included)."""
        seen = -1
        while seen != len(self.messages):
            seen = len(self.messages)
            await allow_strays(quiet)
        return self.messages

    def envelopes(self) -> list[dict[str, Any]]:
        """The messages as one dict each, the channel under ``"channel"``."""
        return [{"channel": channel, **data} for channel, data in self.messages]
