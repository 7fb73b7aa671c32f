"""Accept events: dedup, durable append and publish in Redis, or the local spool when Redis is
unreachable, then chat-command routing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from flask_core.failover import Outage
from flask_core.logging import get_logger
from flask_core.ratelimit import JoinedStep
from flask_core.recent import RecentIds

from .commands import CommandRouter
from .directory import SubscriberDirectory
from .metrics import EventMetrics
from .models import Envelope, build_envelope
from .replies import command_reply
from .spool import EventSpool, SpooledEvent
from .store import UNREACHABLE, EventStore, NotReplicated

_log = get_logger("router.events.ingest")


# Decides the request's quotas with the joined step in the decision (429 when over); returns
# the joined step's result, None when it did not run.
Admission = Callable[[JoinedStep | None], Awaitable[Any]]


def _recent_key(envelope: Envelope) -> tuple[str, str]:
    return (envelope.community_id, envelope.event_id)


@dataclass(frozen=True, slots=True)
class Accepted:
    envelope: Envelope
    duplicate: bool
    command: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        if self.duplicate:
            return {"event_id": self.envelope.event_id, "duplicate": True}
        return {"event_id": self.envelope.event_id, "duplicate": False, "command": self.command}


class EventIngest:
    """The one path every accepted event takes."""

    def __init__(
        self,
        *,
        store: EventStore,
        spool: EventSpool,
        recent: RecentIds,
        directory: SubscriberDirectory,
        commands: CommandRouter,
        metrics: EventMetrics | None = None,
    ) -> None:
        self._metrics = metrics or EventMetrics()
        self._store = store
        self._spool = spool
        self._recent = recent
        self._directory = directory
        self._commands = commands
        # After Redis failed, spooled events are deduped by this process alone for a second,
        # so events arriving during an outage do not each wait for a connection attempt.
        self._shared_dedupe = Outage("event dedupe", cooldown_seconds=1.0)
        self.spooled = 0

    async def ingest(
        self,
        events: Sequence[dict[str, Any]],
        community: str,
        source: str,
        correlation_id: str | None = None,
    ) -> list[Accepted]:
        """Accept validated events in order; chat commands run once their event is safe."""
        results = []
        for event in events:
            envelope = build_envelope(event, community, source)
            results.append(
                await self._follow_up(envelope, await self._accept(envelope), correlation_id)
            )
        return results

    async def ingest_admitted(
        self,
        event: dict[str, Any],
        community: str,
        source: str,
        admit: Admission,
        correlation_id: str | None = None,
    ) -> Accepted:
        """Accept one validated event in the same Redis step as the request's rate limits.

        ``admit(joined)`` decides the request's quotas (429 when over) with ``joined`` run in
        its last step: on one Redis node, one round trip does both.
        """
        envelope = build_envelope(event, community, source)
        fresh = await self._admit_and_accept(envelope, admit)
        return await self._follow_up(envelope, fresh, correlation_id)

    async def _follow_up(
        self, envelope: Envelope, fresh: bool, correlation_id: str | None
    ) -> Accepted:
        """Count the outcome; a fresh chat command runs, and its reply goes out."""
        self._metrics.ingested.labels("accepted" if fresh else "duplicate").inc()
        command = await self._commands.route(envelope, correlation_id) if fresh else None
        reply = command_reply(envelope, command) if command is not None else None
        if reply is not None:
            await self.reply(reply)
        return Accepted(envelope, not fresh, command)

    async def _admit_and_accept(self, envelope: Envelope, admit: Admission) -> bool:
        if self._spool.pending:  # queued behind the spool: the quotas alone, then the spool
            await admit(None)
            return await self._accept(envelope)
        item = SpooledEvent(envelope)
        subscribers = await self._directory.subscribers(envelope.type, envelope.community_id)
        outcome = await admit(self._store.admitted_accept(envelope, subscribers, item.claim))
        if outcome is None:  # Redis bypassed for now: the quotas were counted in this process
            return await self._accept(envelope, item)  # same claim: a lost reply is no duplicate
        try:
            fresh = await self._store.settle(outcome, envelope, subscribers)
        except UNREACHABLE as exc:  # appended, but not confirmed by a replica: keep it too
            return await self._spool_after(item, exc)
        if fresh:
            self._recent.remember(_recent_key(envelope))
        return fresh

    async def reply(self, reply: Envelope) -> bool:
        """Accept a ``response.{platform}`` envelope onto the events' durable path.

        It lands in the community's stream right after the event that caused it, so the
        platform module gets replies in order, and one that was down gets them when back.
        """
        fresh = await self._accept(reply)
        self._metrics.ingested.labels("accepted" if fresh else "duplicate").inc()
        return fresh

    async def _accept(self, envelope: Envelope, item: SpooledEvent | None = None) -> bool:
        item = item or SpooledEvent(envelope)
        # Queue behind what is spooled, so order per community holds; once a drain emptied the
        # spool, straight to Redis (spool mode ends with the drain).
        if self._spool.pending and await self._spool.append_behind([item]):
            return self._spooled(await self._claim(item))
        try:
            subscribers = await self._directory.subscribers(envelope.type, envelope.community_id)
            fresh = await self._store.accept(envelope, subscribers, item.claim)
        except UNREACHABLE as exc:
            return await self._spool_after(item, exc)
        if fresh:
            self._recent.remember(_recent_key(envelope))
        return fresh

    async def _spool_after(self, item: SpooledEvent, error: Exception) -> bool:
        _log.warning("Redis unreachable, spooling events (%s)", type(error).__name__)
        if not isinstance(error, NotReplicated):  # the master answered: claims still work
            self._shared_dedupe.failed(error)
        return await self._spool_one(item)

    async def _claim(self, item: SpooledEvent) -> bool:
        """Whether a spooled event is fresh: asked of Redis whenever it answers.

        The line is already on disk; when another attempt holds the id, the line's replay is
        a no-op (the accept script lets only the claim's own line through).
        """
        key = _recent_key(item.envelope)
        if not self._shared_dedupe.active():  # not while an outage's cooldown lasts
            try:
                fresh = await self._store.claim(item.envelope, item.claim)
            except UNREACHABLE as exc:
                self._shared_dedupe.failed(exc)
            else:
                self._shared_dedupe.recovered()
                if fresh:
                    self._recent.remember(key)
                return fresh
        return self._recent.add(key)

    async def _spool_one(self, item: SpooledEvent) -> bool:
        # Without Redis, dedup falls back to this process's memory of recent ids; the accept
        # script at replay still stops a second append of an id another worker accepted.
        if not self._recent.add(_recent_key(item.envelope)):
            return False
        await self._spool.append([item])
        return self._spooled(True)

    def _spooled(self, fresh: bool) -> bool:
        if fresh:
            self.spooled += 1
            self._metrics.ingested.labels("spooled").inc()
        return fresh

    async def replay(self, item: SpooledEvent) -> None:
        """Append one spooled event (once); raises while Redis is still unreachable."""
        envelope = item.envelope
        subscribers = await self._directory.subscribers(envelope.type, envelope.community_id)
        await self._store.accept(envelope, subscribers, item.claim)

    async def flush_spool_forever(self, interval: float) -> None:
        """Replay the spool, in order, whenever Redis answers again."""
        while True:
            await asyncio.sleep(interval)
            if not self._spool.pending:
                continue
            try:
                replayed = await self._spool.drain(self.replay)
            except UNREACHABLE:
                continue
            except RedisError as exc:  # e.g. OOM: keep the spool, try again later
                _log.error("spool replay refused by Redis: %s", exc, extra={"event_type": "ERROR"})
                continue
            self._shared_dedupe.recovered()
            self._metrics.replayed.inc(replayed)
            _log.info("replayed %d spooled event(s)", replayed, extra={"event_type": "SYSTEM"})
