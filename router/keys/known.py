"""The last known keys: what authentication needs of each key, kept in Redis and in process.

PostgreSQL is the record of keys; this view lets the router authenticate while PostgreSQL is
out of reach, so events, actions and registry calls keep working on Redis alone:

- ``rh:keys:{keys}:known`` (hash, prefix → record): id, keyed hash, name, role, communities,
  bound module, rate limit, expiry and revocation — never a secret. Written on every key change,
  when a lookup finds a record the process did not hold as it is, and by a full sync. Each
  record is sealed with a MAC from the pepper: a record changed in Redis is ignored.
- ``rh:keys:{keys}:ends`` (sorted set, prefix → Unix time from which the key is refused):
  revocation and rotation write it with ``ZADD LT``, so an end only ever moves earlier and a
  record written late by a racing lookup cannot bring a revoked key back.
- ``rh:keys:{keys}:complete``: set by a full sync (every usable key written). While it exists a
  prefix absent from the view is unknown (401); without it (Redis lost its data, no sync has run)
  absence proves nothing and the request gets 503 with ``Retry-After``.

The in-process copy answers when Redis is away too. An invalidation message drops its entry, so
it never holds a record changed elsewhere; for the same reason absence there is never a verdict.
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask_core.keyspace import DEFAULT_KEYSPACE, Keyspace
from flask_core.logging import get_logger
from flask_core.redis_client import OUTAGE_ERRORS, STORE_ERRORS, reply_text, store_fault

from .material import KeyHasher
from .models import ApiKey

if TYPE_CHECKING:
    import redis.asyncio as aioredis

_log = get_logger("router.keys.known")
MAX_LOCAL_KEYS = 100_000


@dataclass(frozen=True, slots=True)
class Finding:
    """What the view says of a prefix: its record, or whether its absence is a verdict."""

    key: ApiKey | None
    complete: bool


def _record(key: ApiKey) -> str:
    """What is kept of ``key`` (its keyed hash, never the key; no last-use stamp)."""
    return json.dumps(
        {
            "id": key.id,
            "prefix": key.prefix,
            "hash": base64.b64encode(key.key_hash).decode("ascii"),
            "name": key.name,
            "role": key.role,
            "communities": list(key.communities),
            "module_id": key.module_id,
            "rate_limit": key.rate_limit,
            "created_at": key.created_at.isoformat(),
            "expires_at": _iso(key.expires_at),
            "revoked_at": _iso(key.revoked_at),
        },
        separators=(",", ":"),
    )


def _key(record: bytes) -> ApiKey:
    data: dict[str, Any] = json.loads(record)
    return ApiKey(
        id=data["id"],
        prefix=data["prefix"],
        key_hash=base64.b64decode(data["hash"]),
        name=data["name"],
        role=data["role"],
        communities=tuple(data["communities"]),
        module_id=data["module_id"],
        rate_limit=data["rate_limit"],
        created_at=datetime.fromisoformat(data["created_at"]),
        expires_at=_moment(data["expires_at"]),
        last_used_at=None,
        revoked_at=_moment(data["revoked_at"]),
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def end_of(key: ApiKey) -> datetime | None:
    """When ``key`` stops authenticating (revoked or expired), if it ever does."""
    ends = [moment for moment in (key.revoked_at, key.expires_at) if moment is not None]
    return min(ends) if ends else None


def _ended_at(key: ApiKey, end: float | None) -> ApiKey:
    """``key`` refused from ``end`` on (an end in the view is treated as a revocation)."""
    if end is None:
        return key
    moment = datetime.fromtimestamp(end, UTC)
    if key.revoked_at is not None and key.revoked_at <= moment:
        return key
    return replace(key, revoked_at=moment)


class RecordSeal:
    """Stored form ``<hex MAC>.<record>``: a record whose MAC does not match is not a record."""

    def __init__(self, hasher: KeyHasher) -> None:
        self._hasher = hasher

    def encode(self, key: ApiKey) -> str:
        record = _record(key)
        return f"{self._hasher.seal(record.encode()).hex()}.{record}"

    def decode(self, stored: bytes | str) -> ApiKey | None:
        raw = stored.encode() if isinstance(stored, str) else stored
        mac, _, record = raw.partition(b".")
        try:
            expected = bytes.fromhex(mac.decode("ascii"))
        except ValueError:
            return None
        if not hmac.compare_digest(self._hasher.seal(record), expected):
            return None
        return _key(record)


class KnownKeys:
    """The last known keys in Redis (shared by every worker and replica) and in this process."""

    def __init__(
        self, redis: aioredis.Redis, hasher: KeyHasher, keyspace: Keyspace = DEFAULT_KEYSPACE
    ) -> None:
        self._redis = redis
        self._seal = RecordSeal(hasher)
        self._keys = keyspace
        self._local: dict[str, ApiKey] = {}
        self.stale = False  # a write did not reach Redis: a full sync is owed
        self._unreachable = False

    def held(self, key: ApiKey) -> bool:
        """Whether this process holds exactly ``key`` already (nothing to write)."""
        return self._local.get(key.prefix) == replace(key, last_used_at=None)

    def forget_local(self, prefix: str | None = None) -> None:
        """Drop this process's copy of one prefix (changed elsewhere), or of every prefix."""
        if prefix is None:
            self._local.clear()
        else:
            self._local.pop(prefix, None)

    async def remember(self, key: ApiKey) -> None:
        """Keep ``key`` as it is now in PostgreSQL; an end it has is recorded for good."""
        self._hold(key)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys.keys_known, key.prefix, self._seal.encode(key))
            end = end_of(key)
            if end is not None:
                pipe.zadd(self._keys.keys_ends, {key.prefix: end.timestamp()}, lt=True)
            await self._send(pipe, "record")

    async def reinstate(self, key: ApiKey) -> None:
        """Keep ``key`` made usable again (a bootstrap key): its recorded end goes too."""
        self._hold(key)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self._keys.keys_ends, key.prefix)
            pipe.hset(self._keys.keys_known, key.prefix, self._seal.encode(key))
            await self._send(pipe, "record")

    async def prefixes(self) -> list[str]:
        """Every prefix the shared view holds (what a full sync must bring up to date)."""
        return [reply_text(field) for field in await self._redis.hkeys(self._keys.keys_known)]

    async def fill(self, keys: Iterable[ApiKey]) -> None:
        """A full sync: write every record given (every usable key and every key the view
        held), then mark the view complete. Raises when Redis cannot take it."""
        keys = list(keys)
        for key in keys:
            self._hold(key)
        async with self._redis.pipeline(transaction=True) as pipe:
            if keys:
                pipe.hset(
                    self._keys.keys_known,
                    mapping={key.prefix: self._seal.encode(key) for key in keys},
                )
            ends = {k.prefix: end.timestamp() for k in keys if (end := end_of(k)) is not None}
            if ends:
                pipe.zadd(self._keys.keys_ends, ends, lt=True)
            pipe.set(self._keys.keys_complete, datetime.now(UTC).isoformat())
            await pipe.execute()
        self.stale = False

    async def find(self, prefix: str) -> Finding:
        """The last known record of ``prefix``, from Redis, else from this process."""
        try:
            record, end, complete = await self._read(prefix)
        except OUTAGE_ERRORS:
            return Finding(self._local.get(prefix), complete=False)
        except STORE_ERRORS as error:
            raise store_fault(error, "reading the last known keys") from error
        stored = None if record is None else self._seal.decode(record)
        if stored is None:
            if record is not None:
                _log.error(
                    "a last known key record failed its seal and is ignored (prefix %s)",
                    prefix,
                    extra={"event_type": "ERROR"},
                )
            local = self._local.get(prefix)
            return Finding(None if local is None else _ended_at(local, end), complete)
        key = _ended_at(stored, end)
        self._hold(key)
        return Finding(key, complete=True)

    async def _read(self, prefix: str) -> tuple[bytes | None, float | None, bool]:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(self._keys.keys_known, prefix)
            pipe.zscore(self._keys.keys_ends, prefix)
            pipe.exists(self._keys.keys_complete)
            record, end, complete = await pipe.execute()
        return record, None if end is None else float(end), bool(complete)

    def _hold(self, key: ApiKey) -> None:
        if key.prefix not in self._local and len(self._local) >= MAX_LOCAL_KEYS:
            return  # bounded; Redis still has it
        self._local[key.prefix] = replace(key, last_used_at=None)  # not needed to authenticate

    async def _send(self, pipe: Any, what: str) -> None:
        try:
            await pipe.execute()
        except STORE_ERRORS as error:
            # PostgreSQL has the change; the next full sync brings it to the shared view.
            self.stale = True
            if not self._unreachable:
                _log.warning(
                    "cannot %s a key in the last known keys (%s); a full sync will follow",
                    what,
                    type(error).__name__,
                    extra={"event_type": "SYSTEM"},
                )
            self._unreachable = True
        else:
            self._unreachable = False
