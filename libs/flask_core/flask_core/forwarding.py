"""Trigger modules hand platform events to the router through a bounded, retrying queue.

A webhook answers the platform at once; the forwarder then resolves the channel's community
(cached) and posts the event, retrying with back-off while the router is down or overloaded.
The queue is bounded: when full, ``offer`` refuses and the webhook answers 503 so the platform
retries later instead of the event being dropped silently.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .logging import bound_context, get_logger
from .recent import RecentIds
from .router_client import RouterClient, RouterError
from .tasks import BackgroundTasks

_log = get_logger("flask_core.forwarding")
_RETRYABLE = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """An event waiting for the router, with the platform channel that names its community."""

    channel_id: str
    event: dict[str, Any]
    correlation_id: str | None = None


class CommunityCache:
    """``(platform, channel) → community`` from the router, cached briefly (misses too)."""

    def __init__(self, router: RouterClient, platform: str, ttl: float = 30.0) -> None:
        self._router = router
        self._platform = platform
        self._ttl = ttl
        self._entries: dict[str, tuple[float, str | None]] = {}

    async def resolve(self, channel_id: str) -> str | None:
        cached = self._entries.get(channel_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        community = await self._router.resolve(self._platform, channel_id)
        ttl = self._ttl if community is not None else min(self._ttl, 5.0)
        self._entries[channel_id] = (time.monotonic() + ttl, community)
        return community


class EventForwarder:
    """Deliver queued events to the router in order, retrying until it accepts them."""

    def __init__(self, router: RouterClient, platform: str, *, capacity: int = 10_000) -> None:
        self.router = router
        self.communities = CommunityCache(router, platform)
        self.queue: asyncio.Queue[PendingEvent] = asyncio.Queue(maxsize=capacity)
        self.forwarded = 0
        self.unroutable = 0
        self._tasks = BackgroundTasks()

    def start(self) -> None:
        self._tasks.spawn("forwarder", self._run())

    def offer(self, pending: PendingEvent) -> bool:
        """Queue an event; False when the queue is full (the caller answers 503)."""
        try:
            self.queue.put_nowait(pending)
        except asyncio.QueueFull:
            return False
        return True

    async def close(self, drain_seconds: float = 5.0) -> None:
        """Give queued events a bounded time to reach the router, then stop."""
        try:
            await asyncio.wait_for(self.queue.join(), drain_seconds)
        except TimeoutError:
            _log.error("%d events not forwarded at shutdown", self.queue.qsize())
        await self._tasks.close()

    async def _run(self) -> None:
        while True:
            pending = await self.queue.get()
            with bound_context(correlation_id=pending.correlation_id):
                await self._deliver(pending)
            self.queue.task_done()

    async def _deliver(self, pending: PendingEvent) -> None:
        delay = 0.1
        while True:
            try:
                await self._send(pending)
                return
            except RouterError as error:
                if error.status not in _RETRYABLE:
                    self.unroutable += 1
                    _log.error("router refused an event: %s", error, extra={"event_type": "ERROR"})
                    return
                reason = str(error)
            except (httpx.TransportError, httpx.TimeoutException) as error:
                reason = repr(error)
            _log.warning("router unavailable (%s); retrying in %.1f s", reason, delay)
            await asyncio.sleep(delay * (0.5 + random.random() / 2))
            delay = min(delay * 2, 10.0)

    async def _send(self, pending: PendingEvent) -> None:
        community = await self.communities.resolve(pending.channel_id)
        if community is None:
            self.unroutable += 1
            _log.warning(
                "no community is linked to channel %s; event dropped",
                pending.channel_id,
                extra={"event_type": "SYSTEM", "result": "unroutable"},
            )
            return
        await self.router.events(community, pending.event)
        self.forwarded += 1


class SeenMessages:
    """Platform message ids already accepted: one atomic SET NX in Redis, a local fallback."""

    def __init__(self, redis: aioredis.Redis | None, prefix: str, ttl_seconds: int = 86_400):
        self._redis = redis
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._local = RecentIds(ttl_seconds=ttl_seconds)

    async def first_time(self, message_id: str) -> bool:
        """Record ``message_id``; False when it was seen before."""
        if not self._local.add(message_id):
            return False
        if self._redis is None:
            return True
        try:
            return bool(
                await self._redis.set(f"{self._prefix}:{message_id}", 1, nx=True, ex=self._ttl)
            )
        except (RedisError, OSError):
            return True  # the local memory already holds it

    async def forget(self, message_id: str) -> None:
        """Undo ``first_time`` for a message that could not be accepted after all."""
        self._local.forget(message_id)
        if self._redis is not None:
            try:
                await self._redis.delete(f"{self._prefix}:{message_id}")
            except (RedisError, OSError):
                _log.warning("could not forget message %s in Redis", message_id)
