"""The epoch marker in Redis: one key per slot range on a cluster, one key elsewhere.

A Redis that comes back empty (restarted without persistence, or replaced) has no marker; on
a cluster a master that lost its data loses the markers of its slots while the others keep
theirs, so the markers are spread over the whole slot space: 64 ranges of 256 slots, each
holding one, and any master serving at least 256 consecutive slots holds one. Resharding
moves a marker with its slot, so it stays found.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from flask_core.keyspace import Keyspace
from flask_core.redis_client import is_cluster, reply_text

from ..events.lease import Lease

if TYPE_CHECKING:
    import redis.asyncio as aioredis

CLUSTER_MARKERS = 64
_LOCK_TTL_MS = 60_000  # longer than a recovery takes; a recoverer that died frees it by then


def marker_keys(keyspace: Keyspace, count: int) -> list[str]:
    """``count`` marker keys, the i-th hashing into the i-th of ``count`` equal slot ranges."""
    width = REDIS_CLUSTER_HASH_SLOTS // count
    keys: dict[int, str] = {}
    candidate = 0
    while len(keys) < count:
        key = keyspace.redis_epoch_marker(str(candidate))
        keys.setdefault(key_slot(key.encode()) // width, key)
        candidate += 1
    return [keys[index] for index in range(count)]


class EpochMarkers:
    """Read and write the markers, and the lock of the one process that recreates data."""

    def __init__(self, redis: aioredis.Redis, keyspace: Keyspace) -> None:
        self._redis = redis
        self.keys = marker_keys(keyspace, CLUSTER_MARKERS if is_cluster(redis) else 1)
        holder = f"epoch:{uuid.uuid4().hex}"
        self.lock = Lease(redis, keyspace.redis_epoch_lock, holder, _LOCK_TTL_MS)

    async def read(self) -> list[str | None]:
        """Each marker's epoch, None where it is missing."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in self.keys:
                pipe.get(key)
            values = await pipe.execute()
        return [None if value is None else reply_text(value) for value in values]

    async def write(self, epoch: str) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in self.keys:
                pipe.set(key, epoch)
            await pipe.execute()
