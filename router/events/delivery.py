"""Durable delivery to one module: read its consumer groups, push each event, ack on 2xx.

Convention (push): ``POST {base_url}/events`` with the envelope as the JSON body and headers
``X-Community-ID``, ``X-Event-ID`` and ``X-Request-ID`` (the event id). A 2xx acknowledges.
A module that cannot be reached (no healthy instance, connection refused) is *down*: the event
waits for it without using up attempts. A module that answers with anything else, or times out
reading, *failed*: after ``max_attempts`` the event goes to the dead-letter stream. Events of a
community are handled one at a time in stream order, so a module sees them in order; each
community has a lane of its own (a queue and a task), so communities proceed side by side and
none waits for another: one reader keeps every lane supplied. Delivery is at-least-once: a
lane acks what it delivered in one pipelined round after each run of entries, so a crash or
a Redis outage between push and ack means the module sees that event again (the envelope's
``event_id`` / ``X-Event-ID`` is its idempotency key). Reading, claiming and acking the groups
is ``GroupConsumer``'s part (``consumer.py``); the lanes, pushes and retries are here.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp

from flask_core.keyspace import DEFAULT_KEYSPACE, Keyspace
from flask_core.logging import get_logger

from .consumer import READ_COUNT, Entry, GroupConsumer
from .deadletters import DeadLetters
from .directory import SubscriberDirectory
from .lease import Lease
from .metrics import EventMetrics
from .settings import EventSettings
from .store import UNREACHABLE

if TYPE_CHECKING:
    import redis.asyncio as aioredis

_log = get_logger("router.events.delivery")
_BUSY_POLL_SECONDS = 0.1  # how often streams are read for news while lanes are still busy
_DOWN_MAX_SECONDS = 5.0  # how long a module that came back may wait for its backlog to resume

# sign(module_id, community, body) -> a router token for that body the module can verify
Signer = Callable[[str, str, bytes], str]


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    DOWN = "down"
    FAILED = "failed"


class LeaseLost(Exception):
    """Another worker now delivers for this module; stop without acknowledging anything."""


@dataclass(eq=False, slots=True)
class Lane:
    """One community's entries, in stream order, waiting for its delivery task."""

    entries: deque[Entry] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def has_room(self) -> bool:
        """Whether its stream may be read: not while the lane holds a whole read."""
        return len(self.entries) < READ_COUNT


def backoff(step: int, settings: EventSettings) -> float:
    return float(min(settings.retry_max_seconds, settings.retry_base_seconds * 2 ** max(0, step)))


@dataclass(frozen=True, slots=True)
class DeliveryContext:
    """What every deliverer of a process shares (one per supervisor)."""

    redis: aioredis.Redis
    http: aiohttp.ClientSession
    directory: SubscriberDirectory
    deadletters: DeadLetters
    settings: EventSettings
    sign: Signer | None = None
    metrics: EventMetrics = field(default_factory=EventMetrics)
    keyspace: Keyspace = DEFAULT_KEYSPACE


class ModuleDeliverer:
    """Delivers every community stream of one module while holding that module's lease."""

    def __init__(self, module_id: str, context: DeliveryContext, lease: Lease) -> None:
        self.module_id = module_id
        self._context = context
        self._lease = lease
        self._lost = asyncio.Event()
        self._groups = GroupConsumer(
            module_id, lease.holder, context.redis, context.settings, context.keyspace, self._pause
        )
        self._lanes: dict[str, Lane] = {}
        self._lane_tasks: list[asyncio.Task[None]] = []
        self._lane_room = asyncio.Event()
        self._back: dict[str, asyncio.Event] = {}  # base URL found down -> set when it answers

    @property
    def consumer(self) -> str:
        return self._lease.holder

    async def run(self) -> None:
        """Deliver until cancelled or the lease is lost; always give the lease back."""
        keeper = asyncio.create_task(self._keep_lease(), name=f"lease:{self.module_id}")
        try:
            async with asyncio.TaskGroup() as group:
                try:
                    await self._supply(group)
                finally:
                    for task in self._lane_tasks:
                        task.cancel()
        except* LeaseLost:
            _log.warning("delivery lease for %s lost", self.module_id)
        except* UNREACHABLE as group:
            _log.warning("delivery for %s stopped: Redis unreachable (%s)", self.module_id, group)
        finally:
            keeper.cancel()
            with contextlib.suppress(*UNREACHABLE):  # unacked ones are redelivered: at-least-once
                await self._groups.flush_acks()
            await self._give_back()

    async def _keep_lease(self) -> None:
        interval = self._context.settings.lease_ttl_seconds / 3
        try:
            while await self._lease.renew():
                await self._pause(interval)
        except UNREACHABLE:
            pass  # cannot prove we still hold it: stop, a later scan takes it again
        self._lost.set()

    async def _give_back(self) -> None:
        with contextlib.suppress(*UNREACHABLE):  # it expires on its own
            await self._lease.release()

    async def _supply(self, group: asyncio.TaskGroup) -> None:
        """Read new entries into the lanes until the lease is lost.

        A read blocks only while every lane is empty; while some lane is busy, the streams
        whose lanes have room are read without blocking (a blocking read could not be cut short
        when a full lane gets room), and an empty read waits for room in a lane, or polls.
        """
        while not self._lost.is_set():
            idle = not any(lane.entries for lane in self._lanes.values())
            batch = await self._groups.next_batch(self._has_room, block=idle)
            for entry in batch:
                self._lane(entry.community, group).entries.append(entry)
            for lane in self._lanes.values():
                if lane.entries:
                    lane.wake.set()
            if not batch and not idle:
                await self._wait_for_lanes()

    def _lane(self, community: str, group: asyncio.TaskGroup) -> Lane:
        lane = self._lanes.get(community)
        if lane is None:
            lane = self._lanes[community] = Lane()
            self._lane_tasks.append(
                group.create_task(self._drive(lane), name=f"deliver:{self.module_id}:{community}")
            )
        return lane

    async def _drive(self, lane: Lane) -> None:
        """Deliver a lane's entries one at a time, in order, acking what was queued at each
        turn (a lane kept busy still acks as it goes)."""
        while True:
            await lane.wake.wait()
            lane.wake.clear()
            while lane.entries:
                for _ in range(len(lane.entries)):
                    await self._deliver(lane.entries[0])
                    lane.entries.popleft()
                    if lane.has_room:
                        self._lane_room.set()
                await self._groups.flush_acks()

    def _has_room(self, community: str) -> bool:
        lane = self._lanes.get(community)
        return lane is None or lane.has_room

    async def _wait_for_lanes(self) -> None:
        """Wait until a lane has room for more, or for the next poll of the streams."""
        self._lane_room.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._lane_room.wait(), timeout=_BUSY_POLL_SECONDS)

    async def _deliver(self, entry: Entry) -> None:
        if entry.fields is None or self.module_id not in entry.targets:
            self._groups.ack(entry)
            return
        failures = downs = 0
        while True:
            if self._lost.is_set():
                raise LeaseLost()
            outcome, error, base_url = await self._attempt(entry)
            self._context.metrics.deliveries.labels(self.module_id, outcome.value).inc()
            if outcome is Outcome.DELIVERED:
                self._answered(base_url)
                self._groups.ack(entry)
                return
            if outcome is Outcome.DOWN:
                downs += 1
                seconds = min(_DOWN_MAX_SECONDS, backoff(downs - 1, self._context.settings))
                await self._pause(seconds, self._back.setdefault(base_url, asyncio.Event()))
                continue
            failures += 1
            if failures >= self._context.settings.max_attempts:
                await self._bury(entry, failures, error)
                return
            await self._pause(backoff(failures - 1, self._context.settings))

    def _answered(self, base_url: str) -> None:
        """``base_url`` is back: the lanes waiting for it try again at once, not after their
        back-off, so a module that returns gets its backlog in every community together."""
        back = self._back.pop(base_url, None)
        if back is not None:
            back.set()

    async def _attempt(self, entry: Entry) -> tuple[Outcome, str, str]:
        """Push ``entry`` once: the outcome, what went wrong, and the base URL tried."""
        base_url = await self._context.directory.endpoint(self.module_id, entry.community)
        if base_url is None:
            return Outcome.DOWN, "no healthy instance", ""
        assert entry.fields is not None
        body = entry.fields.get(b"e", b"{}")
        event_id = _event_id(body)
        headers = {
            "Content-Type": "application/json",
            "X-Community-ID": entry.community,
            "X-Event-ID": event_id,
            "X-Request-ID": event_id,
        }
        if self._context.sign is not None:
            token = self._context.sign(self.module_id, entry.community, body)
            headers["Authorization"] = f"Bearer {token}"
        seconds = self._context.settings.delivery_timeout_seconds
        timeout = aiohttp.ClientTimeout(total=None, connect=seconds, sock_read=seconds)
        try:
            async with self._context.http.post(
                f"{base_url.rstrip('/')}/events",
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
            ) as response:
                await response.read()  # the connection goes back to the pool only when read
                status = response.status
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            return Outcome.DOWN, f"unreachable: {type(exc).__name__}", base_url
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Outcome.FAILED, f"{type(exc).__name__}", base_url
        if 200 <= status < 300:
            return Outcome.DELIVERED, "", base_url
        return Outcome.FAILED, f"HTTP {status}", base_url

    async def _bury(self, entry: Entry, attempts: int, error: str) -> None:
        assert entry.fields is not None
        failure = {"module": self.module_id, "attempts": attempts, "error": error}
        await self._context.deadletters.bury(entry.community, entry.entry_id, entry.fields, failure)
        self._context.metrics.deliveries.labels(self.module_id, "dead").inc()
        _log.warning(
            "event dead-lettered for %s after %d attempts: %s",
            self.module_id,
            attempts,
            error,
            extra={"event_type": "SYSTEM", "community": entry.community},
        )

    async def _pause(self, seconds: float, wake: asyncio.Event | None = None) -> None:
        """Sleep, waking early when the lease is lost (or ``wake`` is set); what is done is
        acked first."""
        await self._groups.flush_acks()
        waits = [asyncio.ensure_future(event.wait()) for event in (self._lost, wake) if event]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()


def _event_id(body: bytes) -> str:
    try:
        return str(json.loads(body).get("event_id") or "")
    except (ValueError, AttributeError):
        return ""
