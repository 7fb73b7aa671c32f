"""One module's consumer in its consumer groups: read new entries, take over what a dead
consumer left pending, give back a group that vanished, and acknowledge what was done.

Every community a module subscribes to has a stream, and the module has one consumer group on
each (named after the module). Acks are gathered and sent in one pipelined round, so an entry
is acknowledged only after its push, and an ack lost to a crash means the entry comes again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.crc import key_slot
from redis.exceptions import ResponseError

from flask_core.keyspace import Keyspace
from flask_core.logging import get_logger
from flask_core.redis_client import is_cluster

from .models import split_group_member
from .settings import EventSettings

if TYPE_CHECKING:
    import redis.asyncio as aioredis

_log = get_logger("router.events.delivery")  # part of delivery: its lines keep that name
READ_COUNT = 64  # entries read per stream at a time
_CLUSTER_POLL_MS = 100  # how long an empty round of per-slot reads waits on a cluster

# pause(seconds): wait between reads, cut short when the reader's owner stops
Pause = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Entry:
    community: str
    entry_id: str
    fields: dict[bytes, bytes] | None  # None: trimmed from the stream while pending

    @property
    def targets(self) -> set[str]:
        raw = (self.fields or {}).get(b"to", b"")
        return {name for name in raw.decode().split(",") if name}


class GroupConsumer:
    """``consumer`` of ``module_id``'s groups on every community stream the module has."""

    def __init__(
        self,
        module_id: str,
        consumer: str,
        redis: aioredis.Redis,
        settings: EventSettings,
        keyspace: Keyspace,
        pause: Pause,
    ) -> None:
        self.module_id = module_id
        self.consumer = consumer
        self._redis = redis
        self._settings = settings
        self._keyspace = keyspace
        self._pause = pause
        self._claimed: set[str] = set()
        self._unacked: dict[str, list[str]] = {}

    async def next_batch(self, has_room: Callable[[str], bool], block: bool = True) -> list[Entry]:
        """Entries to deliver next: what a dead consumer left (first sight of a stream), else
        new entries of the communities that ``has_room`` for more."""
        streams = await self._streams()
        if not streams:
            await self._pause(self._settings.scan_interval_seconds)
            return []
        try:
            claimed = await self._claim_pending(streams)
            if claimed:
                return claimed
            open_keys = [key for key, c in streams.items() if has_room(c)]
            if not open_keys:
                return []
            reply = await self._read(open_keys, block)
        except ResponseError as error:
            # UNBLOCKED: the stream was deleted during a blocking read; NOGROUP: its group is gone.
            if not any(code in str(error) for code in ("NOGROUP", "UNBLOCKED")):
                raise
            await self._recreate_groups(streams)
            return []
        return [
            Entry(streams[key.decode()], entry_id.decode(), fields)
            for key, rows in reply
            for entry_id, fields in rows
        ]

    def ack(self, entry: Entry) -> None:
        """Note ``entry`` as done; acks go to Redis once per batch (or before any wait)."""
        self._unacked.setdefault(self._keyspace.event_stream(entry.community), []).append(
            entry.entry_id
        )

    async def flush_acks(self) -> None:
        if not self._unacked:
            return
        unacked, self._unacked = self._unacked, {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for key, entry_ids in unacked.items():
                pipe.xack(key, self.module_id, *entry_ids)
            await pipe.execute()

    async def _streams(self) -> dict[str, str]:
        """``{stream key: community}`` of every group this module has."""
        members = await self._redis.smembers(self._keyspace.event_groups)
        pairs = (split_group_member(member) for member in members)
        return {
            self._keyspace.event_stream(c): c
            for module_id, c in pairs
            if module_id == self.module_id
        }

    async def _read(self, keys: list[str], block: bool = True) -> list[Any]:
        """New entries of the module's streams: one (blocking) read, or one read per slot.

        On a cluster the community streams live in different slots (nodes), and one XREADGROUP
        may only name keys of one slot. Blocking reads side by side could not be abandoned
        safely (an entry a cancelled read took stays pending), so each slot is read without
        blocking and an empty round pauses instead.
        """
        block_ms = self._settings.block_ms
        if not is_cluster(self._redis):
            return list(await self._read_group(keys, block_ms if block else None) or [])
        by_slot: dict[int, list[str]] = {}
        for key in keys:
            by_slot.setdefault(key_slot(key.encode()), []).append(key)
        replies = await asyncio.gather(*(self._read_group(g, None) for g in by_slot.values()))
        rows = [row for reply in replies for row in reply or []]
        if not rows and block:
            await self._pause(min(block_ms, _CLUSTER_POLL_MS) / 1000)
        return rows

    async def _read_group(self, keys: list[str], block_ms: int | None) -> Any:
        return await self._redis.xreadgroup(
            self.module_id,
            self.consumer,
            dict.fromkeys(keys, ">"),
            count=READ_COUNT,
            block=block_ms,
        )

    async def _recreate_groups(self, streams: dict[str, str]) -> None:
        """Give back a group that vanished with its stream (deleted by hand, or data loss)."""
        for key in streams:
            await ensure_group(self._redis, key, self.module_id)
        _log.warning("recreated consumer groups of %s", self.module_id)

    async def _claim_pending(self, streams: dict[str, str]) -> list[Entry]:
        """Take over what a dead consumer of this module left unacknowledged (first sight)."""
        entries: list[Entry] = []
        for key, community in streams.items():
            if key not in self._claimed:
                self._claimed.add(key)
                entries.extend(await self._claim_stream(key, community))
        return entries

    async def _claim_stream(self, key: str, community: str) -> list[Entry]:
        # JUSTID, then XRANGE: on Redis 6.2 XAUTOCLAIM hides the id of an entry trimmed away
        # while pending, and that id is needed to acknowledge it.
        ids: list[bytes] = []
        start = "0-0"
        while True:
            page: Any = await self._redis.xautoclaim(
                key, self.module_id, self.consumer, 0, start, count=READ_COUNT, justid=True
            )
            ids.extend(page)
            if len(page) < READ_COUNT:
                break
            millis, _, sequence = page[-1].decode().partition("-")
            start = f"{millis}-{int(sequence) + 1}"
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry_id in ids:
                pipe.xrange(key, entry_id, entry_id)
            found: list[Any] = await pipe.execute() if ids else []
        return [
            Entry(community, entry_id.decode(), rows[0][1] if rows else None)
            for entry_id, rows in zip(ids, found, strict=True)
        ]


async def ensure_group(redis: aioredis.Redis, stream: str, module_id: str) -> None:
    """``module_id``'s consumer group on ``stream``, from its start, unless it exists."""
    try:
        await redis.xgroup_create(stream, module_id, id="0", mkstream=True)
    except ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise
