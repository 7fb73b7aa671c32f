"""Start one deliverer per module somewhere in the fleet: whichever worker takes its lease."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from typing import TYPE_CHECKING

import aiohttp
from redis.exceptions import RedisError

from flask_core.keyspace import DEFAULT_KEYSPACE, Keyspace
from flask_core.logging import get_logger

from .deadletters import DeadLetters
from .delivery import DeliveryContext, ModuleDeliverer, Signer
from .directory import SubscriberDirectory
from .lease import Lease
from .metrics import EventMetrics
from .models import split_group_member
from .settings import EventSettings
from .store import UNREACHABLE

if TYPE_CHECKING:
    import redis.asyncio as aioredis

_log = get_logger("router.events.supervisor")


class DeliverySupervisor:
    """Scan for modules with consumer groups and run the deliverers whose lease we win."""

    def __init__(
        self,
        *,
        redis: aioredis.Redis,
        http: aiohttp.ClientSession,
        directory: SubscriberDirectory,
        deadletters: DeadLetters,
        settings: EventSettings,
        sign: Signer | None = None,
        metrics: EventMetrics | None = None,
        keyspace: Keyspace = DEFAULT_KEYSPACE,
    ) -> None:
        self._context = DeliveryContext(
            redis, http, directory, deadletters, settings, sign, metrics or EventMetrics(), keyspace
        )
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._running: dict[str, asyncio.Task[None]] = {}

    async def run(self) -> None:
        """Scan forever; Redis outages only pause the scan."""
        while True:
            try:
                await self._scan()
            except UNREACHABLE as exc:
                _log.warning("delivery scan paused: Redis unreachable (%s)", type(exc).__name__)
            except RedisError as exc:
                _log.error("delivery scan failed: %s", exc, extra={"event_type": "ERROR"})
            await asyncio.sleep(self._context.settings.scan_interval_seconds)

    async def _scan(self) -> None:
        for module_id, task in list(self._running.items()):
            if task.done():
                del self._running[module_id]
                if not task.cancelled() and task.exception() is not None:
                    _log.error("deliverer for %s failed", module_id, exc_info=task.exception())
        members = await self._context.redis.smembers(self._context.keyspace.event_groups)
        modules = {split_group_member(member)[0] for member in members}
        for module_id in sorted(modules - set(self._running)):
            lease = Lease(
                self._context.redis,
                self._context.keyspace.event_lease(module_id),
                self.holder,
                int(self._context.settings.lease_ttl_seconds * 1000),
            )
            if await lease.acquire():
                deliverer = self._deliverer(module_id, lease)
                self._running[module_id] = asyncio.create_task(
                    deliverer.run(), name=f"deliver:{module_id}"
                )

    def _deliverer(self, module_id: str, lease: Lease) -> ModuleDeliverer:
        return ModuleDeliverer(module_id, self._context, lease)

    @property
    def modules(self) -> list[str]:
        return sorted(m for m, task in self._running.items() if not task.done())

    async def close(self) -> None:
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        self._running.clear()
