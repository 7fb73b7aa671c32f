"""The dead-letter streams: events a module kept failing, listed and replayed by admins."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask_core import errors
from flask_core.keyspace import DEFAULT_KEYSPACE, Keyspace
from flask_core.redis_client import reply_text
from flask_core.validation import COMMUNITY_ID

from .models import split_group_member

if TYPE_CHECKING:
    import redis.asyncio as aioredis

_ENTRY_ID = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")
_STREAM_ID_PART_MAX = 2**64 - 1

# Move one dead letter back into its community stream, addressed to its module only, and drop
# it from the dead-letter stream, atomically so two replays cannot both re-deliver it.
_REPLAY = """
local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then return false end
local fields, values = found[1][2], {}
for i = 1, #fields, 2 do values[fields[i]] = fields[i + 1] end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*',
  'e', values['e'], 't', values['t'], 'to', values['m'])
redis.call('XDEL', KEYS[1], ARGV[1])
return id
"""


@dataclass(frozen=True, slots=True)
class DeadLetterId:
    """A dead letter's public id: ``{community}:{stream entry id}``."""

    community: str
    entry_id: str

    def __str__(self) -> str:
        return f"{self.community}:{self.entry_id}"

    @classmethod
    def parse(cls, text: str) -> DeadLetterId:
        # ASCII digits only (str.isdigit also takes Arabic-Indic or superscript digits) and
        # each part within the unsigned 64 bits of a stream id: Redis never sees a bad id.
        community, _, entry_id = text.rpartition(":")
        match = _ENTRY_ID.fullmatch(entry_id)
        if (
            not COMMUNITY_ID.fullmatch(community)
            or match is None
            or any(int(part) > _STREAM_ID_PART_MAX for part in match.groups())
        ):
            raise errors.NotFound("No such dead letter.")
        return cls(community, entry_id)


class DeadLetters:
    """Dead-letter streams, one per community."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        maxlen: int,
        stream_maxlen: int,
        keyspace: Keyspace = DEFAULT_KEYSPACE,
    ) -> None:
        self._redis = redis
        self._keys = keyspace
        self._maxlen = maxlen
        self._stream_maxlen = stream_maxlen
        self._replay = redis.register_script(_REPLAY)

    async def bury(
        self, community: str, entry_id: str, fields: dict[bytes, bytes], failure: dict[str, Any]
    ) -> None:
        """Dead-letter one stream entry for ``failure['module']`` and acknowledge it, atomically."""
        record: dict[Any, Any] = {
            "e": fields.get(b"e", b"{}"),
            "t": fields.get(b"t", b""),
            "m": failure["module"],
            "attempts": failure["attempts"],
            "error": failure["error"][:500],
            "source_id": entry_id,
            "failed_at": int(time.time() * 1000),
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            dead = self._keys.event_dead(community)
            pipe.xadd(dead, record, maxlen=self._maxlen, approximate=True)
            pipe.xack(self._keys.event_stream(community), failure["module"], entry_id)
            await pipe.execute()

    async def communities(self) -> list[str]:
        members = await self._redis.smembers(self._keys.event_groups)
        return sorted({split_group_member(member)[1] for member in members})

    async def list(
        self, communities: Iterable[str], module_id: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """The newest dead letters of ``communities`` (optionally of one module), newest first."""
        items: list[dict[str, Any]] = []
        for community in communities:
            rows: Any = await self._redis.xrevrange(self._keys.event_dead(community), count=limit)
            items.extend(_item(community, entry_id, fields) for entry_id, fields in rows)
        if module_id is not None:
            items = [item for item in items if item["module_id"] == module_id]
        items.sort(key=lambda item: item["failed_at_ms"], reverse=True)
        return items[:limit]

    async def replay(self, dead_letter: DeadLetterId) -> str:
        """Queue a dead letter for its module again; return the new stream entry id."""
        new_id = await self._replay(
            keys=[
                self._keys.event_dead(dead_letter.community),
                self._keys.event_stream(dead_letter.community),
            ],
            args=[dead_letter.entry_id, self._stream_maxlen],
        )
        if not new_id:
            raise errors.NotFound("No such dead letter.")
        return reply_text(new_id)


def _item(community: str, entry_id: bytes, fields: dict[bytes, bytes]) -> dict[str, Any]:

    envelope = json.loads(fields.get(b"e", b"{}"))
    return {
        "id": f"{community}:{entry_id.decode()}",
        "community_id": community,
        "module_id": fields.get(b"m", b"").decode(),
        "event_id": envelope.get("event_id"),
        "type": fields.get(b"t", b"").decode(),
        "attempts": int(fields.get(b"attempts", b"0")),
        "last_error": fields.get(b"error", b"").decode(errors="replace"),
        "source_id": fields.get(b"source_id", b"").decode(),
        "failed_at_ms": int(fields.get(b"failed_at", b"0")),
        "envelope": envelope,
    }
