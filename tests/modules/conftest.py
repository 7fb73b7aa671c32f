"""A real router on loopback with a linked community, for the platform modules' tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from flask_core.module import Lifecycle, ModuleBase
from router.app import create_app
from router.settings import RouterSettings
from tests.support.keys import KeyFactory
from tests.support.servers import serve_app


@dataclass
class LiveRouter:
    url: str
    admin_key: str
    keys: KeyFactory
    app: Any
    http: httpx.AsyncClient

    async def link(self, community: str, platform: str, channel_id: str) -> None:
        headers = {"X-API-Key": self.admin_key}
        created = await self.http.post(
            f"{self.url}/api/v1/admin/communities",
            json={"id": community, "name": community},
            headers=headers,
        )
        assert created.status_code in (201, 409), created.text
        linked = await self.http.post(
            f"{self.url}/api/v1/admin/communities/{community}/channels",
            json={"platform": platform, "channel_id": channel_id},
            headers=headers,
        )
        assert linked.status_code == 201, linked.text


@pytest.fixture
async def live_router(settings: RouterSettings, api_key: KeyFactory) -> AsyncIterator[LiveRouter]:
    app = create_app(replace(settings, lease_ttl_seconds=10))
    async with serve_app(app) as url, httpx.AsyncClient(timeout=10) as http:
        admin = await api_key("admin", app=app)
        yield LiveRouter(url, admin, api_key, app, http)


async def wait_running(module: ModuleBase) -> None:
    for _ in range(200):
        if module.state == Lifecycle.RUNNING:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{module.settings.name} never registered")


class Published:
    """Every pub/sub message on a pattern, decoded, collected in the background."""

    def __init__(self, redis: aioredis.Redis, pattern: str) -> None:
        self.redis = redis
        self.pattern = pattern
        self.messages: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Published:
        self.pubsub = self.redis.pubsub()
        await self.pubsub.psubscribe(self.pattern)
        self._task = asyncio.create_task(self._collect())
        return self

    async def _collect(self) -> None:
        async for item in self.pubsub.listen():
            if item["type"] == "pmessage":
                self.messages.append(
                    {"channel": item["channel"].decode(), **json.loads(item["data"])}
                )

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.messages) < count and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        return self.messages

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await self.pubsub.aclose()
