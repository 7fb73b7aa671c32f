"""One drill's world: its own Redis, database, router (2 workers) and module, the keys the load
uses, and the clock the fault script and the load share."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.stores import create_database, drop_database

from .load import COMMUNITY, Keys, Load
from .module import ACTION_ID
from .servers import Postgres, RedisServer, Service, module_service, router_service


@dataclass
class Stage:
    """What a fault script acts on; times are seconds on the load's clock, scaled."""

    directory: Path
    redis: RedisServer
    postgres: Postgres | None
    router: Service
    module: Service
    admin: httpx.AsyncClient
    keys: Keys
    records: Path
    scale: float = 1.0
    load: Load | None = None
    fault_at: float = 0.0
    returned_at: float = 0.0
    notes: list[str] = field(default_factory=list)

    def now(self) -> float:
        assert self.load is not None, "the load has not started"
        return self.load.now()

    async def at(self, seconds: float) -> None:
        """Wait until ``seconds`` (scaled) into the load."""
        await asyncio.sleep(max(0.0, seconds * self.scale - self.now()))

    def fault(self) -> None:
        self.fault_at = self.now()

    def returned(self) -> None:
        self.returned_at = self.now()

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"   [{self.now():6.2f} s] {text}", flush=True)


@asynccontextmanager
async def staged(
    directory: Path, admin_database_url: str, postgres: Postgres | None, scale: float = 1.0
) -> AsyncIterator[Stage]:
    """Start Redis, a fresh database, the router and the module; stop them all afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    async with AsyncExitStack() as stack:
        redis = RedisServer(directory)
        await asyncio.to_thread(redis.start)
        stack.callback(redis.stop)
        name, database_url = await create_database(admin_database_url)
        stack.push_async_callback(drop_database, admin_database_url, name)
        admin_key = secrets.token_urlsafe(32)
        router = router_service(
            directory, database_url, redis.url, admin_key, directory / "router.log"
        )
        await router.start()
        stack.callback(router.stop)
        admin = await stack.enter_async_context(
            httpx.AsyncClient(base_url=router.url, headers={"X-API-Key": admin_key}, timeout=15)
        )
        keys, module_key = await _provision(admin, admin_key)
        records = directory / "received.ndjson"
        module = module_service(router.url, module_key, records, directory / "module.log")
        await module.start()
        stack.callback(module.stop)
        await wait_registered(admin)
        yield Stage(directory, redis, postgres, router, module, admin, keys, records, scale)


async def _provision(admin: httpx.AsyncClient, admin_key: str) -> tuple[Keys, str]:
    """The drill community, a trigger and a user key in it, and the module's bound key."""
    created = await admin.post("/api/v1/admin/communities", json={"id": COMMUNITY, "name": "d"})
    created.raise_for_status()
    trigger = await _key(admin, {"role": "trigger"})
    user = await _key(admin, {"role": "user"})
    module = await _key(admin, {"role": "action", "module_id": "drill"})
    return Keys(admin=admin_key, trigger=trigger, user=user), module


async def _key(admin: httpx.AsyncClient, fields: dict[str, Any]) -> str:
    body = {"name": f"drill-{fields['role']}", "communities": [COMMUNITY], **fields}
    created = await admin.post("/api/v1/admin/keys", json=body)
    created.raise_for_status()
    return str(created.json()["key"])


async def wait_registered(admin: httpx.AsyncClient, seconds: float = 30) -> None:
    """Until the drill module's action is served by an instance."""
    for _ in range(int(seconds * 10)):
        found = await admin.get("/api/v1/modules/drill")
        if found.status_code == 200 and found.json()["instances"]:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"the drill module never registered ({ACTION_ID})")
