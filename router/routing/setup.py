"""Open the registry, breakers, dispatcher, signing key and rate limits for one router process."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
import redis.asyncio as aioredis

from flask_core.breaker import MemoryBreakerStore
from flask_core.breaker_redis import FailoverBreakerStore, RedisBreakerStore
from flask_core.database import AsyncDAL
from flask_core.keyspace import DEFAULT_KEYSPACE, Keyspace
from flask_core.ratelimit import FailoverRateLimiter, MemoryRateLimiter, RedisRateLimiter
from flask_core.tasks import BackgroundTasks
from flask_core.tokens import SigningKey, load_or_create_private_key, load_private_key

from ..audit.records import AuditSink
from ..ratelimits.limits import RouterLimits
from ..registry.live import Registry
from ..registry.prober import HealthProber
from ..registry.store import RegistryStore
from ..settings import RouterSettings
from .breakers import InstanceBreakers
from .dispatch import Dispatcher

SIGNING_KEY_NAME = "router-signing-key.pem"


def _breaker_meta(name: str) -> dict[str, Any]:
    module_id, _, instance_id = name.partition("/")
    return {"breaker": name, "module_id": module_id, "instance_id": instance_id}


async def load_signing_key(settings: RouterSettings) -> SigningKey:
    """The configured key file, or the one generated once in the data directory."""
    if settings.signing_key_file is not None:
        private = await asyncio.to_thread(load_private_key, settings.signing_key_file)
    else:
        path = settings.data_dir.resolve() / SIGNING_KEY_NAME
        private = await asyncio.to_thread(load_or_create_private_key, path)
    return SigningKey.from_private(private)


@dataclass
class Routing:
    """The registry and routing components of a router process."""

    signing_key: SigningKey
    registry: Registry
    breakers: InstanceBreakers
    dispatcher: Dispatcher
    limits: RouterLimits

    @classmethod
    async def open(
        cls,
        settings: RouterSettings,
        dal: AsyncDAL,
        redis: aioredis.Redis,
        http: httpx.AsyncClient,
        audit: AuditSink,
        tasks: BackgroundTasks,
        keyspace: Keyspace = DEFAULT_KEYSPACE,
    ) -> Routing:
        signing_key = await load_signing_key(settings)
        registry = Registry(
            RegistryStore(dal, settings.lease_ttl_seconds), redis, keyspace=keyspace
        )
        shared = RedisBreakerStore(
            redis,
            settings.breaker,
            prefix=keyspace.breaker_prefix,
            channel=keyspace.breaker_channel,
            meta=_breaker_meta,
        )
        breakers = InstanceBreakers(
            FailoverBreakerStore(shared, MemoryBreakerStore(settings.breaker)), audit
        )
        registry.on_breaker_message(breakers.on_message)
        await registry.start(tasks)
        prober = HealthProber(
            registry,
            redis,
            http,
            audit,
            interval_seconds=settings.health_interval_seconds,
            timeout_seconds=settings.health_timeout_seconds,
            failures_to_down=settings.health_failures_to_down,
            reap_after_seconds=settings.lease_ttl_seconds * 10,
        )
        tasks.spawn("registry.prober", prober.run())
        limiter = FailoverRateLimiter(
            RedisRateLimiter(redis, prefix=keyspace.ratelimit_prefix), MemoryRateLimiter()
        )
        return cls(
            signing_key=signing_key,
            registry=registry,
            breakers=breakers,
            dispatcher=Dispatcher(registry, breakers, http, signing_key),
            limits=RouterLimits(limiter, settings),
        )
