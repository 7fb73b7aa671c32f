"""A Redis lease: at most one holder at a time across every router worker and replica."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis.asyncio as aioredis

# Renew and release only while we still hold it, so a holder that stalled past its TTL cannot
# extend or drop the lease somebody else took over meanwhile. A lease nobody holds (Redis lost
# its data, or it lapsed and nobody took it) is taken back by its holder, as SET NX would give
# it: there is still at most one holder, and the holder's work goes on without a pause.
_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
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
