"""Authentication on the hot path: a per-process cache bounded in time, invalidated by pub/sub.

A cached record lives at most ``ttl`` seconds (≤ 1 s), so even a lost invalidation message
cannot keep a revoked key alive longer than that; the ``keys.invalidate`` message makes every
worker and replica drop it at once. Last-use stamps are kept in memory and written in batches.

While PostgreSQL is out of reach, records come from the last known keys (``known.py``); after
a failed lookup PostgreSQL is left alone for ``cooldown`` seconds, so requests in an outage do
not each wait on a connection attempt.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from flask_core.auth import Principal
from flask_core.database import DatabaseUnavailable
from flask_core.failover import Outage
from flask_core.logging import get_logger

from .known import KnownKeys
from .models import ApiKey
from .store import KeyStore

MAX_CACHE_TTL = 1.0
MAX_CACHED_PREFIXES = 10_000
_log = get_logger("router.keys")


class KeysUnverifiable(Exception):
    """PostgreSQL is out of reach and the last known keys cannot say whether a key exists."""


@dataclass(slots=True)
class _Cached:
    key: ApiKey | None
    fetched_at: float


class KeyAuthenticator:
    """The ``flask_core.auth.Authenticator`` of the router."""

    def __init__(
        self,
        store: KeyStore,
        known: KnownKeys,
        ttl: float = 0.5,
        *,
        lookup_timeout: float = 1.0,
        cooldown: float = 1.0,
    ) -> None:
        if not 0 <= ttl <= MAX_CACHE_TTL:
            raise ValueError(f"the key cache TTL must be between 0 and {MAX_CACHE_TTL} s")
        self.store = store
        self.known = known
        self.ttl = ttl
        self.lookup_timeout = lookup_timeout
        self.database = Outage(
            "keys",
            cooldown,
            lost="PostgreSQL unreachable ({error}); {what} authenticate from the last known keys",
            back="PostgreSQL reachable again for key lookups",
        )
        self._cache: dict[str, _Cached] = {}
        self._last_used: dict[str, datetime] = {}

    async def authenticate(self, presented_key: str) -> Principal | None:
        prefix = self.store.hasher.prefix_of(presented_key)
        if prefix is None:
            return None
        key = await self._lookup(prefix)
        now = datetime.now(UTC)
        if key is None or not self.store.hasher.matches(presented_key, key.key_hash):
            return None
        if not key.usable_at(now):
            return None
        self._last_used[key.id] = now
        return key.principal()

    async def _lookup(self, prefix: str) -> ApiKey | None:
        cached = self._cache.get(prefix)
        clock = time.monotonic()
        if cached is not None and clock - cached.fetched_at < self.ttl:
            return cached.key
        key = await self._fetch(prefix)
        if len(self._cache) >= MAX_CACHED_PREFIXES:
            self._evict_stale(clock)
        self._cache[prefix] = _Cached(key, clock)
        return key

    async def _fetch(self, prefix: str) -> ApiKey | None:
        """The record from PostgreSQL (kept in the last known keys), else from that view."""
        if not self.database.active():
            try:
                async with asyncio.timeout(self.lookup_timeout):
                    key = await self.store.by_prefix(prefix)
            except (DatabaseUnavailable, TimeoutError) as error:
                self.database.failed(error.__cause__ or error)  # the driver's own error
            else:
                self.database.recovered()
                if key is not None and not self.known.held(key):
                    await self.known.remember(key)
                return key
        finding = await self.known.find(prefix)
        if finding.key is None and not finding.complete:
            raise KeysUnverifiable(prefix)
        return finding.key

    def _evict_stale(self, clock: float) -> None:
        for prefix in [p for p, c in self._cache.items() if clock - c.fetched_at >= self.ttl]:
            del self._cache[prefix]
        if len(self._cache) >= MAX_CACHED_PREFIXES:
            self._cache.clear()  # a flood of distinct fresh prefixes: start over

    def invalidate(self, prefix: str | None = None) -> None:
        """Forget one prefix, or everything when ``prefix`` is None."""
        if prefix is None:
            self._cache.clear()
        else:
            self._cache.pop(prefix, None)

    def take_last_used(self) -> dict[str, datetime]:
        """Hand over (and forget) the last-use stamps gathered since the previous call."""
        stamps, self._last_used = self._last_used, {}
        return stamps

    def keep_last_used(self, stamps: dict[str, datetime]) -> None:
        """Put back stamps that could not be written (newer ones win)."""
        for key_id, moment in stamps.items():
            current = self._last_used.get(key_id)
            if current is None or current < moment:
                self._last_used[key_id] = moment
