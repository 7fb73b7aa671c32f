"""The router's key component: store, authenticator, cross-worker invalidation, stamp flushing."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from flask_core.database import AsyncDAL
from flask_core.keyspace import DEFAULT_KEYSPACE
from flask_core.logging import get_logger
from flask_core.tasks import BackgroundTasks

from ..settings import RouterSettings
from .authenticator import KeyAuthenticator
from .bootstrap import load_bootstrap_keys
from .material import KeyHasher
from .models import ApiKey, NewKey
from .pepper import load_pepper
from .store import KeyStore

if TYPE_CHECKING:
    import redis.asyncio as aioredis

INVALIDATE_CHANNEL = DEFAULT_KEYSPACE.keys_invalidate_channel
EVERYTHING = "*"
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
        channel: str = INVALIDATE_CHANNEL,
    ) -> None:
        self.store = KeyStore(dal, hasher)
        self.authenticator = KeyAuthenticator(self.store, cache_ttl)
        self.redis = redis
        self.flush_interval = flush_interval
        self.channel = channel  # keys.invalidate, qualified like every internal channel
        self._listener_down = False

    @classmethod
    async def load(
        cls,
        dal: AsyncDAL,
        redis: aioredis.Redis,
        settings: RouterSettings,
        channel: str = INVALIDATE_CHANNEL,
    ) -> KeyService:
        """The service with its pepper loaded (or created once); ``start`` sets it running."""
        pepper = await asyncio.to_thread(load_pepper, settings.data_dir, settings.signing_key_file)
        return cls(dal, redis, KeyHasher(pepper), channel=channel)

    async def start(
        self,
        tasks: BackgroundTasks,
        bootstrap_admin_key: str | None,
        bootstrap_keys_file: Path | None = None,
    ) -> None:
        """Start the invalidation listener and stamp flusher; ensure the bootstrap keys."""
        tasks.spawn("keys.invalidation-listener", self._listen())
        tasks.spawn("keys.last-used-flusher", self._flush_periodically())
        if bootstrap_admin_key:
            await self.ensure_bootstrap_admin(bootstrap_admin_key)
        if bootstrap_keys_file:
            await self.ensure_bootstrap_file(bootstrap_keys_file)

    async def close(self) -> None:
        """Record the last uses still in memory (once the background tasks have stopped)."""
        await self.flush_last_used()

    async def create(self, new: NewKey) -> tuple[ApiKey, str]:
        key, plaintext = await self.store.create(new)
        await self._announce(key.prefix)  # a cached "unknown prefix" must not linger
        return key, plaintext

    async def rotate(self, key_id: str, grace_seconds: int) -> tuple[ApiKey, ApiKey, str]:
        retired, new, plaintext = await self.store.rotate(key_id, grace_seconds)
        await self._announce(retired.prefix)
        await self._announce(new.prefix)
        return retired, new, plaintext

    async def revoke(self, key_id: str) -> ApiKey | None:
        key = await self.store.revoke(key_id)
        if key is not None:
            await self._announce(key.prefix)
        return key

    async def ensure_bootstrap_admin(self, plaintext: str) -> ApiKey:
        key = await self.store.ensure_bootstrap_admin(plaintext)
        await self._announce(key.prefix)
        return key

    async def ensure_bootstrap_file(self, path: Path) -> None:
        """Make every key of ``ROUTER_BOOTSTRAP_KEYS_FILE`` exist; a bad file stops start-up."""
        keys = await asyncio.to_thread(load_bootstrap_keys, path)
        for entry in keys:
            key = await self.store.ensure(entry.key, entry.new_key())
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
                    prefix = data.decode("ascii", "replace")
                    self.authenticator.invalidate(None if prefix == EVERYTHING else prefix)
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            try:
                await self.flush_last_used()
            except Exception as exc:  # keep flushing after a database hiccup
                _log.warning("cannot record key last use: %s", type(exc).__name__)
