"""Trigger modules hand platform events to the router through a bounded, retrying queue.

A webhook answers the platform at once; the forwarder then resolves the channel's community
(cached) and posts the event, retrying with back-off while the router is down or overloaded.
The queue is bounded: when full, ``offer`` refuses and the webhook answers 503 so the platform
retries later instead of the event being dropped silently. An event the router can never take
is set aside (logged, kept in a bounded list shown by ``/health``), never retried forever.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from . import jsonio
from .logging import bound_context, get_logger
from .module import ModuleBase, ModuleSettings
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


@dataclass(frozen=True, slots=True)
class SetAside:
    """An event the router will never take as it is, kept for an operator to look at."""

    event: dict[str, Any]
    channel_id: str
    reason: str
    at: float = field(default_factory=time.time)

    def summary(self) -> dict[str, Any]:
        """What ``/health`` shows: no payload (it may hold user text), just enough to find it."""
        return {
            "event_id": _printable(self.event.get("event_id")),
            "type": _printable(self.event.get("type")),
            "channel_id": self.channel_id,
            "reason": self.reason,
            "at": round(self.at, 3),
        }


def _printable(value: Any) -> str | None:
    return value[:128].encode("utf-8", "replace").decode() if isinstance(value, str) else None


class EventForwarder:
    """Deliver queued events to the router in order, retrying until it accepts them.

    No single event can stop forwarding: one that has no strict JSON form or that the router
    refuses for good (a 4xx other than 408/429) is logged and set aside in ``dead`` (the last
    ``dead_capacity`` of them; ``set_aside`` counts all), and the loop goes on. The loop runs
    under a supervisor that restarts it (logged) should it crash anyway; ``running`` tells
    ``/health`` whether it is alive.
    """

    def __init__(
        self,
        router: RouterClient,
        platform: str,
        *,
        capacity: int = 10_000,
        dead_capacity: int = 100,
        restart_delay: float = 0.1,
    ) -> None:
        self.router = router
        self.communities = CommunityCache(router, platform)
        self.queue: asyncio.Queue[PendingEvent] = asyncio.Queue(maxsize=capacity)
        self.forwarded = 0
        self.unroutable = 0
        self.set_aside = 0
        self.restarts = 0
        self.dead: deque[SetAside] = deque(maxlen=dead_capacity)
        self._restart_delay = restart_delay
        self._supervisor: asyncio.Task[None] | None = None
        self._tasks = BackgroundTasks()

    def start(self) -> None:
        self._supervisor = self._tasks.spawn("forwarder", self._supervise())

    @property
    def running(self) -> bool:
        return self._supervisor is not None and not self._supervisor.done()

    def offer(self, pending: PendingEvent) -> bool:
        """Queue an event; False when the queue is full (the caller answers 503)."""
        try:
            self.queue.put_nowait(pending)
        except asyncio.QueueFull:
            return False
        return True

    def health(self) -> dict[str, Any]:
        """The forwarder's part of ``/health``."""
        return {
            "running": self.running,
            "queued": self.queue.qsize(),
            "forwarded": self.forwarded,
            "unroutable": self.unroutable,
            "set_aside": self.set_aside,
            "restarts": self.restarts,
            "dead": [entry.summary() for entry in self.dead],
        }

    async def close(self, drain_seconds: float = 5.0) -> None:
        """Give queued events a bounded time to reach the router, then stop."""
        try:
            await asyncio.wait_for(self.queue.join(), drain_seconds)
        except TimeoutError:
            _log.error("%d events not forwarded at shutdown", self.queue.qsize())
        await self._tasks.close()

    async def _supervise(self) -> None:
        delay = self._restart_delay
        while True:
            try:
                await self._run()
            except Exception as error:  # the loop must outlive any bug: restart it
                self.restarts += 1
                _log.error(
                    "event forwarder crashed; restarting in %.1f s",
                    delay,
                    exc_info=error,
                    extra={"event_type": "ERROR"},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _run(self) -> None:
        while True:
            pending = await self.queue.get()
            try:
                with bound_context(correlation_id=pending.correlation_id):
                    await self._deliver_or_set_aside(pending)
            finally:
                self.queue.task_done()

    async def _deliver_or_set_aside(self, pending: PendingEvent) -> None:
        try:
            body = jsonio.dumpb(pending.event)
        except jsonio.UnserializableJSON as error:
            self._set_aside(pending, f"no strict JSON form: {error}")
            return
        try:
            await self._deliver(pending, body)
        except RouterError as error:
            self._set_aside(pending, f"refused by the router: {error}")
        except Exception as error:  # a bug or an odd answer: this event must not stop the rest
            self._set_aside(pending, f"could not be forwarded: {error!r}")

    def _set_aside(self, pending: PendingEvent, reason: str) -> None:
        self.set_aside += 1
        entry = SetAside(pending.event, pending.channel_id, reason)
        self.dead.append(entry)
        _log.error(
            "event set aside: %s",
            reason,
            extra={
                "event_type": "ERROR",
                "action": "event.set_aside",
                "result": "failure",
                "reason": reason,
                "details": entry.summary(),
            },
        )

    async def _deliver(self, pending: PendingEvent, body: bytes) -> None:
        """Send until the router takes it; RouterError when it refuses it for good."""
        delay = 0.1
        while True:
            try:
                await self._send(pending, body)
                return
            except RouterError as error:
                if error.status not in _RETRYABLE:
                    raise
                reason = str(error)
            except (httpx.TransportError, httpx.TimeoutException) as error:
                reason = repr(error)
            _log.warning("router unavailable (%s); retrying in %.1f s", reason, delay)
            await asyncio.sleep(delay * (0.5 + random.random() / 2))
            delay = min(delay * 2, 10.0)

    async def _send(self, pending: PendingEvent, body: bytes) -> None:
        community = await self.communities.resolve(pending.channel_id)
        if community is None:
            self.unroutable += 1
            _log.warning(
                "no community is linked to channel %s; event dropped",
                pending.channel_id,
                extra={
                    "event_type": "SYSTEM",
                    "action": "event.unroutable",
                    "result": "failure",
                    "reason": "no community linked to the channel",
                },
            )
            return
        await self.router.post_event(community, body)
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

    async def known(self, message_id: str) -> bool:
        """Whether ``message_id`` was recorded (here, or by another process through Redis)."""
        if self._local.seen(message_id):
            return True
        if self._redis is None:
            return False
        try:
            return bool(await self._redis.exists(f"{self._prefix}:{message_id}"))
        except (RedisError, OSError):
            return False

    async def forget(self, message_id: str) -> None:
        """Undo ``first_time`` for a message that could not be accepted after all."""
        self._local.forget(message_id)
        if self._redis is not None:
            try:
                await self._redis.delete(f"{self._prefix}:{message_id}")
            except (RedisError, OSError):
                _log.warning("could not forget message %s in Redis", message_id)


class TriggerModule(ModuleBase):
    """A module that takes platform webhooks and forwards them through an ``EventForwarder``.

    Its ``/health`` shows the forwarder and says ``degraded`` while the forwarder is not
    running: acknowledging webhooks that never reach the router must not look healthy.
    """

    module_type = "trigger"
    platform = "unknown"
    resources: tuple[str, ...] = ("event forwarder",)

    def __init__(self, settings: ModuleSettings, *, subscriptions: tuple[str, ...] = ()) -> None:
        super().__init__(settings, subscriptions=subscriptions)
        self.forwarder = EventForwarder(self.router, self.platform)

    async def initialize(self) -> None:
        self.forwarder.start()

    async def release(self) -> None:
        await self.forwarder.close(self.settings.drain_seconds)

    async def health_details(self) -> dict[str, Any]:
        return {"forwarder": self.forwarder.health()}

    def health_problems(self) -> list[str]:
        return [] if self.forwarder.running else ["the event forwarder is not running"]
