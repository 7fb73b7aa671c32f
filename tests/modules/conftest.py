"""A real router on loopback with a linked community, for the platform modules' tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest

from flask_core.module import Lifecycle, ModuleBase
from router.app import create_app
from router.settings import RouterSettings
from tests.support.keys import KeyFactory
from tests.support.servers import serve_app
from tests.support.waiting import wait_until


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
    """Until the module has registered with the router."""
    await wait_until(
        lambda: module.state == Lifecycle.RUNNING, what=f"{module.settings.name} registered"
    )
