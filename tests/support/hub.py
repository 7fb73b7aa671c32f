"""The router as a real process with an admin client: the base of end-to-end tests."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from router.settings import RouterSettings

from .processes import router_process


@dataclass
class RunningRouter:
    url: str
    admin: httpx.AsyncClient

    async def key(
        self, role: str, module_id: str | None = None, communities: Sequence[str] = ("*",)
    ) -> str:
        body: dict[str, Any] = {
            "name": f"e2e-{role}-{module_id or 'caller'}",
            "role": role,
            "communities": list(communities),
        }
        if module_id:
            body["module_id"] = module_id
        created = await self.admin.post("/api/v1/admin/keys", json=body)
        assert created.status_code == 201, created.text
        return str(created.json()["key"])

    async def link(self, community: str, platform: str, channel_id: str) -> None:
        created = await self.admin.post(
            "/api/v1/admin/communities", json={"id": community, "name": community}
        )
        assert created.status_code in (201, 409), created.text
        linked = await self.admin.post(
            f"/api/v1/admin/communities/{community}/channels",
            json={"platform": platform, "channel_id": channel_id},
        )
        assert linked.status_code == 201, linked.text

    async def wait_registered(self, module_id: str, *, serving: bool = True) -> None:
        """Until ``module_id`` has a registered instance (or, with ``serving=False``, none)."""
        for _ in range(300):
            found = await self.admin.get(f"/api/v1/modules/{module_id}")
            if found.status_code == 200 and bool(found.json()["instances"]) == serving:
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"{module_id} never {'registered' if serving else 'left'}")


@asynccontextmanager
async def running_router(settings: RouterSettings) -> AsyncIterator[RunningRouter]:
    """``python -m router`` (one worker) on the test's stores, with a bootstrap admin key."""
    admin_key = secrets.token_urlsafe(32)
    extra = {"ROUTER_BOOTSTRAP_ADMIN_KEY": admin_key}
    async with (
        router_process(settings, workers=1, extra_env=extra) as url,
        httpx.AsyncClient(base_url=url, headers={"X-API-Key": admin_key}, timeout=10) as admin,
    ):
        yield RunningRouter(url, admin)
