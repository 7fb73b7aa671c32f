"""A Redis lease: at most one holder at a time across every router worker and replica."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis.asyncio as aioredis

# Renew and release only while we still hold it, so a holder that stalled past its TTL cannot
# extend or drop the lease somebody else took over meanwhile.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Lease:
    """One named lease held by ``holder`` for ``ttl_ms`` at a time, renewed while working."""

    def __init__(self, redis: aioredis.Redis, key: str, holder: str, ttl_ms: int) -> None:
        self.key = key
        self.holder = holder
        self._redis = redis
        self._ttl_ms = ttl_ms
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def acquire(self) -> bool:
        return bool(await self._redis.set(self.key, self.holder, nx=True, px=self._ttl_ms))

    async def renew(self) -> bool:
        return bool(await self._renew(keys=[self.key], args=[self.holder, self._ttl_ms]))

    async def release(self) -> None:
        await self._release(keys=[self.key], args=[self.holder])
