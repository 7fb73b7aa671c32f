"""Fixtures for event tests: fast delivery settings, a stand-in subscriber module, pub/sub."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import pytest
import redis.asyncio as aioredis
from quart import Quart, Response, request

from router.events.settings import EventSettings
from router.settings import RouterSettings
from tests.support.pubsub import PubSubCollector
from tests.support.waiting import wait_until

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
        await wait_until(
            lambda: len(self.received) >= count, timeout, what=f"{count} pushed event(s)"
        )


@pytest.fixture
def listen(redis: aioredis.Redis) -> Callable[..., PubSubCollector]:
    """``async with listen("events.c1.*") as listener``."""
    return partial(PubSubCollector, redis)
