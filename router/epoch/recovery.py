"""What the router can recreate when Redis lost its data, from what outlived it.

Gone for good: undelivered stream entries, pending deliveries and dead letters, dedupe marks,
breaker and rate-limit counts. Recreated: the consumer groups (and the index the deliverers
scan), the registry's shared state in Redis (leases, version), and the last known keys (so
authentication during a later PostgreSQL outage still knows every key). Delivery leases come back by
themselves: a deliverer that finds its lease gone takes it back on its next renewal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask_core.keyspace import Keyspace
from flask_core.redis_client import reply_text

from ..events.consumer import ensure_group
from ..events.models import group_member, split_group_member
from ..registry.live import Registry

if TYPE_CHECKING:
    import redis.asyncio as aioredis

# The communities PostgreSQL names, for modules registered with a key valid for every one.
CommunityList = Callable[[], Awaitable[list[str]]]
# Another domain's state rebuilt in Redis from PostgreSQL (the last known keys).
Restorer = Callable[[], Awaitable[None]]
_INDEX_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Recreated:
    groups: int
    modules: int
    instances: int


class DataRecovery:
    """Remember which consumer groups exist, and recreate them and the registry's state."""

    def __init__(
        self,
        redis: aioredis.Redis,
        keyspace: Keyspace,
        registry: Registry,
        communities: CommunityList,
        restorers: Iterable[Restorer] = (),
    ) -> None:
        self._restorers = tuple(restorers)
        self._redis = redis
        self._keys = keyspace
        self._registry = registry
        self._communities = communities
        self._known: set[tuple[str, str]] = set()
        self._remembered_size = 0

    async def remember_groups(self) -> None:
        """Keep a copy of the groups index: after a loss it names the groups that existed.

        The index only grows, so it is read again only when its size changed.
        """
        size = await self._redis.scard(self._keys.event_groups)
        if size == self._remembered_size:
            return
        members = await self._redis.smembers(self._keys.event_groups)
        self._known |= {split_group_member(member) for member in members}
        self._remembered_size = size

    async def recreate(self) -> Recreated:
        await self._registry.restore_shared_state()  # reloads the registry from PostgreSQL too
        pairs = self._known | await self._subscribed_pairs() | await self._pairs_since_the_loss()
        for module_id, community in sorted(pairs):
            await self._create_group(module_id, community)
        await self._index(pairs)
        for restore in self._restorers:
            await restore()
        modules = self._registry.modules()
        instances = sum(len(module.instances) for module in modules)
        return Recreated(groups=len(pairs), modules=len(modules), instances=instances)

    async def _subscribed_pairs(self) -> set[tuple[str, str]]:
        """(module, community) for every subscribing module and each community it serves."""
        every: list[str] | None = None
        pairs: set[tuple[str, str]] = set()
        for module in self._registry.modules():
            if not module.subscriptions:
                continue
            served = {c for instance in module.instances for c in instance.communities}
            if "*" in served:
                every = every if every is not None else await self._communities()
                served |= set(every)
            pairs |= {(module.module_id, community) for community in served - {"*"}}
        return pairs

    async def _pairs_since_the_loss(self) -> set[tuple[str, str]]:
        """Groups ingest created between the loss and now (cheap: the keyspace was emptied).

        Ingest lists a new group in the index only once per process, so a group it created
        again after the loss would stay out of the index, and undelivered, without this.
        """
        prefix = self._keys.event_community_groups("")[:-1]  # "...groups:{c:" without "}"
        pairs: set[tuple[str, str]] = set()
        async for key in self._redis.scan_iter(match=prefix + "*", _type="set"):
            name = reply_text(key)
            community = name[len(prefix) : -1]
            pairs |= {(reply_text(m), community) for m in await self._redis.smembers(name)}
        return pairs

    async def _create_group(self, module_id: str, community: str) -> None:
        """The group from the stream's start (nothing there is older than the loss), listed in
        the community's group set so ingest does not create it a second time."""
        await ensure_group(self._redis, self._keys.event_stream(community), module_id)
        community_groups = self._keys.event_community_groups(community)
        await self._redis.sadd(community_groups, module_id)

    async def _index(self, pairs: Iterable[tuple[str, str]]) -> None:
        members = sorted(group_member(module_id, community) for module_id, community in pairs)
        for start in range(0, len(members), _INDEX_CHUNK):
            await self._redis.sadd(self._keys.event_groups, *members[start : start + _INDEX_CHUNK])
