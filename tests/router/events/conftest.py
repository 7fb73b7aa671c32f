"""Fixtures for event tests: fast delivery settings, a stand-in subscriber module, pub/sub."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import redis.asyncio as aioredis
from quart import Quart, Response, request

from router.events.settings import EventSettings
from router.settings import RouterSettings

FAST = EventSettings(
    max_attempts=3,
    retry_base_seconds=0.02,
    retry_max_seconds=0.1,
    lease_ttl_seconds=2.0,
    scan_interval_seconds=0.05,
    block_ms=50,
    delivery_timeout_seconds=2.0,
    spool_retry_seconds=0.05,
)


@pytest.fixture
def fast_events() -> EventSettings:
    return FAST


@pytest.fixture
def settings(settings: RouterSettings) -> RouterSettings:
    """The router's settings with event delivery tuned for tests."""
    return replace(settings, events=FAST)


def registration(module_id: str, base_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "module_id": module_id,
        "module_version": "1.0.0",
        "module_type": "action",
        "base_url": base_url,
        "health_check": "/health",
        "instance_id": "i1",
        **extra,
    }


@dataclass
class StandInModule:
    """A subscriber module on loopback that records what it is pushed."""

    fail_with: int | None = None
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[Any] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> Quart:
        app = Quart("stand-in")

        @app.get("/health")
        async def health() -> Response:
            return Response('{"status": "healthy"}', content_type="application/json")

        @app.post("/actions/<action>")
        async def action(action: str) -> Response:
            body = await request.get_json(force=True)
            self.actions.append(body)
            answer = {"text": f"{action}: {body['params']['text']}"}
            return Response(json.dumps(answer), content_type="application/json")

        @app.post("/events")
        async def events() -> Response:
            if self.fail_with is not None:
                return Response("no", status=self.fail_with)
            self.received.append(json.loads(await request.get_data()))
            self.headers.append(request.headers.copy())
            self.arrived.set()
            return Response("", status=204)

        return app

    def event_ids(self) -> list[str]:
        return [envelope["event_id"] for envelope in self.received]

    async def wait_for(self, count: int, timeout: float = 10.0) -> None:
        await wait_until(lambda: len(self.received) >= count, timeout)


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.02)


@dataclass
class Listener:
    """A raw redis.asyncio pattern subscriber collecting decoded messages."""

    pubsub: Any
    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def collect(self, quiet: float = 0.3) -> list[tuple[str, dict[str, Any]]]:
        """Read until nothing arrives for ``quiet`` seconds."""
        loop = asyncio.get_running_loop()
        last = loop.time()
        while loop.time() - last < quiet:
            message = await self.pubsub.get_message(timeout=0.05)
            if message is None or message["type"] != "pmessage":
                continue
            last = loop.time()
            channel = message["channel"].decode()
            self.messages.append((channel, json.loads(message["data"])))
        return self.messages

    async def wait_for(self, count: int, timeout: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.messages) < count and loop.time() < deadline:
            message = await self.pubsub.get_message(timeout=0.05)
            if message is not None and message["type"] == "pmessage":
                self.messages.append((message["channel"].decode(), json.loads(message["data"])))


@pytest.fixture
def listen(redis_url: str) -> Callable[..., Any]:
    """``async with listen("events.c1.*") as listener``."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def open_listener(*patterns: str) -> AsyncIterator[Listener]:
        client = aioredis.Redis.from_url(redis_url)
        pubsub = client.pubsub()
        await pubsub.psubscribe(*patterns)
        try:
            yield Listener(pubsub)
        finally:
            await pubsub.aclose()
            await client.aclose()

    return open_listener
