"""The router's key component: store, authenticator, cross-worker invalidation, stamp flushing."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from flask_core.database import AsyncDAL, DatabaseUnavailable
from flask_core.keyspace import DEFAULT_KEYSPACE, Keyspace
from flask_core.logging import get_logger
from flask_core.redis_client import STORE_ERRORS
from flask_core.tasks import BackgroundTasks

from ..settings import RouterSettings
from .authenticator import KeyAuthenticator
from .bootstrap import load_bootstrap_keys
from .known import KnownKeys
from .material import KeyHasher
from .models import ApiKey, NewKey
from .pepper import load_pepper
from .store import KeyStore

if TYPE_CHECKING:
    import redis.asyncio as aioredis

INVALIDATE_CHANNEL = DEFAULT_KEYSPACE.keys_invalidate_channel
EVERYTHING = "*"
SYNC_FAILURES: tuple[type[Exception], ...] = (DatabaseUnavailable, *STORE_ERRORS)
SYNC_INTERVAL = 60.0  # a full sync of the last known keys, by one process per interval
_log = get_logger("router.keys")


class KeyService:
    """Everything the router does with keys; every change is announced to all workers."""

    def __init__(
        self,
        dal: AsyncDAL,
        redis: aioredis.Redis,
        hasher: KeyHasher,
        *,
        cache_ttl: float = 0.5,
        flush_interval: float = 5.0,
        keyspace: Keyspace = DEFAULT_KEYSPACE,
        sync_interval: float = SYNC_INTERVAL,
    ) -> None:
        self.store = KeyStore(dal, hasher)
        self.known = KnownKeys(redis, hasher, keyspace)
        self.authenticator = KeyAuthenticator(self.store, self.known, cache_ttl)
        self.redis = redis
        self.flush_interval = flush_interval
        self.sync_interval = sync_interval
        self.keyspace = keyspace
        # keys.invalidate, qualified like every internal channel
        self.channel = keyspace.keys_invalidate_channel
        self._listener_down = False
        self._sync_failing = False

    @classmethod
    async def load(
        cls,
        dal: AsyncDAL,
        redis: aioredis.Redis,
        settings: RouterSettings,
        keyspace: Keyspace = DEFAULT_KEYSPACE,
    ) -> KeyService:
        """The service with its pepper loaded (or created once); ``start`` sets it running."""
        pepper = await asyncio.to_thread(load_pepper, settings.data_dir, settings.signing_key_file)
        return cls(dal, redis, KeyHasher(pepper), keyspace=keyspace)

    async def start(
        self,
        tasks: BackgroundTasks,
        bootstrap_admin_key: str | None,
        bootstrap_keys_file: Path | None = None,
    ) -> None:
        """Start the invalidation listener and stamp flusher; ensure the bootstrap keys; fill
        the last known keys (then keep them complete in the background)."""
        tasks.spawn("keys.invalidation-listener", self._listen())
        tasks.spawn("keys.last-used-flusher", self._flush_periodically())
        if bootstrap_admin_key:
            await self.ensure_bootstrap_admin(bootstrap_admin_key)
        if bootstrap_keys_file:
            await self.ensure_bootstrap_file(bootstrap_keys_file)
        await self._try_sync()
        tasks.spawn("keys.known-sync", self._sync_periodically())

    async def close(self) -> None:
        """Record the last uses still in memory (once the background tasks have stopped)."""
        await self.flush_last_used()

    async def create(self, new: NewKey) -> tuple[ApiKey, str]:
        key, plaintext = await self.store.create(new)
        await self.known.remember(key)
        await self._announce(key.prefix)  # a cached "unknown prefix" must not linger
        return key, plaintext

    async def rotate(self, key_id: str, grace_seconds: int) -> tuple[ApiKey, ApiKey, str]:
        retired, new, plaintext = await self.store.rotate(key_id, grace_seconds)
        await self.known.remember(retired)  # its end (now + grace) is kept for good
        await self.known.remember(new)
        await self._announce(retired.prefix)
        await self._announce(new.prefix)
        return retired, new, plaintext

    async def revoke(self, key_id: str) -> ApiKey | None:
        key = await self.store.revoke(key_id)
        if key is not None:
            await self.known.remember(key)  # the end is what the fallback honours
            await self._announce(key.prefix)
        return key

    async def ensure_bootstrap_admin(self, plaintext: str) -> ApiKey:
        key = await self.store.ensure_bootstrap_admin(plaintext)
        await self.known.reinstate(key)
        await self._announce(key.prefix)
        return key

    async def ensure_bootstrap_file(self, path: Path) -> None:
        """Make every key of ``ROUTER_BOOTSTRAP_KEYS_FILE`` exist; a bad file stops start-up."""
        keys = await asyncio.to_thread(load_bootstrap_keys, path)
        for entry in keys:
            key = await self.store.ensure(entry.key, entry.new_key())
            await self.known.reinstate(key)
            await self._announce(key.prefix)
        # Names and count only: the file holds secrets.
        _log.info(
            "bootstrap keys ensured: %s",
            ", ".join(entry.name for entry in keys),
            extra={"event_type": "SYSTEM"},
        )

    async def flush_last_used(self) -> None:
        stamps = self.authenticator.take_last_used()
        try:
            await self.store.record_last_used(stamps)
        except BaseException:
            self.authenticator.keep_last_used(stamps)  # try again at the next flush
            raise

    async def _announce(self, prefix: str) -> None:
        self.authenticator.invalidate(prefix)
        try:
            await self.redis.publish(self.channel, prefix)
        except (RedisError, OSError) as exc:
            # The cache TTL still bounds how long other workers can see the old record.
            _log.warning("cannot publish key invalidation: %s", type(exc).__name__)

    async def _listen(self) -> None:
        while True:
            try:
                await self._listen_once()
            except (RedisError, OSError) as exc:
                if not self._listener_down:  # once per outage, not every retry
                    _log.warning("key invalidation listener lost Redis: %s", type(exc).__name__)
                self._listener_down = True
            self.authenticator.invalidate()  # messages may have been missed meanwhile
            await asyncio.sleep(0.5)

    async def _listen_once(self) -> None:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            if self._listener_down:
                _log.info("key invalidation listener back on Redis")
                self._listener_down = False
            while True:
                # A bounded wait keeps the connection's health checks running.
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                data = message.get("data") if message else None
                if isinstance(data, bytes):
                    text = data.decode("ascii", "replace")
                    prefix = None if text == EVERYTHING else text
                    self.authenticator.invalidate(prefix)
                    self.known.forget_local(prefix)  # only a fresh read may hold it again
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    async def _flush_periodically(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self.flush_interval)
            try:
                await self.flush_last_used()
            except Exception as exc:  # keep flushing after a database hiccup
                if not failing:  # once per outage; the stamps wait in memory meanwhile
                    _log.warning("cannot record key last use: %s", type(exc).__name__)
                failing = True
            else:
                failing = False

    async def sync_known(self) -> None:
        """Bring the last known keys up to date with PostgreSQL and mark them complete."""
        listed = await self.known.prefixes()
        await self.known.fill(await self.store.usable_or_listed(listed))

    async def _try_sync(self) -> None:
        try:
            await self.sync_known()
        except SYNC_FAILURES as exc:
            self.known.stale = True  # tried again every second until it works
            if not self._sync_failing:
                _log.warning(
                    "cannot sync the last known keys (%s); retrying",
                    type(exc).__name__,
                    extra={"event_type": "SYSTEM"},
                )
            self._sync_failing = True
        else:
            if self._sync_failing:
                _log.info("last known keys synced again", extra={"event_type": "SYSTEM"})
            self._sync_failing = False

    async def _sync_periodically(self) -> None:
        """Sync as soon as a write missed Redis, and once per interval in the whole fleet."""
        next_sync = time.monotonic() + self.sync_interval
        while True:
            await asyncio.sleep(1.0)
            if self.known.stale:
                await self._try_sync()
            elif time.monotonic() >= next_sync:
                next_sync = time.monotonic() + self.sync_interval
                if await self._take_sync_turn():
                    await self._try_sync()

    async def _take_sync_turn(self) -> bool:
        try:
            return bool(
                await self.redis.set(
                    self.keyspace.keys_sync_lock,
                    "1",
                    nx=True,
                    px=int(self.sync_interval * 900),  # 0.9 of the interval
                )
            )
        except STORE_ERRORS:
            return False
