"""The events component of the router: ingest, spool, delivery and dead letters, opened and
closed by the router's lifespan."""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
from prometheus_client import CollectorRegistry

from flask_core.events import EVENTS_CLAIM
from flask_core.keyspace import Keyspace
from flask_core.recent import RecentIds
from flask_core.redis_client import RedisTopology, create_redis, prepare
from flask_core.tasks import BackgroundTasks
from flask_core.tokens import SigningKey

from .commands import ActionDispatcher, CommandRouter, CommandTable
from .deadletters import DeadLetters
from .delivery import Signer
from .directory import SubscriberDirectory
from .ingest import EventIngest
from .metrics import EventMetrics
from .settings import EventSettings
from .spool import EventSpool
from .store import UNREACHABLE, EventStore
from .supervisor import DeliverySupervisor

if TYPE_CHECKING:
    import redis.asyncio as aioredis


def token_signer(signing_key: SigningKey, timeout_seconds: float) -> Signer:
    """The token a durable push carries: audience the module, ``action_id`` "events", bound
    to the exact bytes pushed, living as long as the push may take plus 5 s of clock skew."""
    ttl_seconds = math.ceil(timeout_seconds) + 5

    def sign(module_id: str, community: str, body: bytes) -> str:
        return signing_key.issue(
            audience=module_id,
            subject="router",
            community_id=community,
            action_id=EVENTS_CLAIM,
            ttl_seconds=ttl_seconds,
            body=body,
        )

    return sign


@dataclass(frozen=True)
class EventWiring:
    """What events borrow from the rest of the router."""

    redis: aioredis.Redis
    redis_url: str
    redis_topology: RedisTopology
    keyspace: Keyspace
    http: aiohttp.ClientSession  # pushes to modules
    directory: SubscriberDirectory
    commands: CommandTable
    dispatcher: ActionDispatcher
    data_dir: Path
    sign: Signer | None = None
    metrics: CollectorRegistry | None = None


class EventService:
    """Owns the event pipeline's parts; ``open`` starts the spool flusher and the deliverers."""

    def __init__(self, wiring: EventWiring, settings: EventSettings) -> None:
        self.settings = settings
        metrics = EventMetrics(wiring.metrics)
        self.store = EventStore(
            wiring.redis,
            dedup_ttl=settings.dedup_ttl_seconds,
            stream_maxlen=settings.stream_maxlen,
            keyspace=wiring.keyspace,
            wait_replicas=1 if wiring.redis_topology.mode == "sentinel" else 0,
        )
        self.spool = EventSpool(wiring.data_dir / "spool" / "events")
        self.ingest = EventIngest(
            store=self.store,
            spool=self.spool,
            recent=RecentIds(settings.recent_ids),
            directory=wiring.directory,
            commands=CommandRouter(wiring.commands, wiring.dispatcher, self.store),
            metrics=metrics,
        )
        self.deadletters = DeadLetters(
            wiring.redis,
            maxlen=settings.deadletter_maxlen,
            stream_maxlen=settings.stream_maxlen,
            keyspace=wiring.keyspace,
        )
        # Deliverers block on XREADGROUP: their own pool keeps them off the request path's.
        self._delivery_redis = create_redis(
            wiring.redis_url, topology=wiring.redis_topology, max_connections=32
        )
        self.supervisor = DeliverySupervisor(
            redis=self._delivery_redis,
            http=wiring.http,
            directory=wiring.directory,
            deadletters=DeadLetters(
                self._delivery_redis,
                maxlen=settings.deadletter_maxlen,
                stream_maxlen=settings.stream_maxlen,
                keyspace=wiring.keyspace,
            ),
            settings=settings,
            keyspace=wiring.keyspace,
            sign=wiring.sign,
            metrics=metrics,
        )

    async def open(self, tasks: BackgroundTasks) -> None:
        await prepare(self._delivery_redis)
        await self.spool.open()
        tasks.spawn(
            "events.spool", self.ingest.flush_spool_forever(self.settings.spool_retry_seconds)
        )
        tasks.spawn("events.delivery", self.supervisor.run())

    async def close(self) -> None:
        """Stop the deliverers (the background tasks are cancelled by the caller first)."""
        await self.supervisor.close()
        if self.spool.pending:
            with contextlib.suppress(*UNREACHABLE):  # else the next start adopts the file
                await self.spool.drain(self.ingest.replay)
        await self.spool.close()
        await self._delivery_redis.aclose()
