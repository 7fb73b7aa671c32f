"""The one way every service opens Redis (redis.asyncio)."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError


def create_redis(url: str, *, max_connections: int = 64) -> aioredis.Redis:
    """A pooled client for ``redis://`` or ``unix://`` URLs; callers wait for a free connection."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=5,
        socket_timeout=5,
        socket_connect_timeout=2,
        health_check_interval=15,
        # A restarted server drops every pooled connection; retry on a fresh one.
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
    return aioredis.Redis(connection_pool=pool)


async def redis_ping(client: aioredis.Redis) -> bool:
    try:
        return bool(await client.ping())
    except (RedisError, OSError, TimeoutError):
        return False


def reply_text(value: Any) -> str:
    """A Redis reply as text (clients made here answer bytes, ``decode_responses`` ones str)."""
    return value.decode() if isinstance(value, bytes) else str(value)
