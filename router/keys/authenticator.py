"""Authentication on the hot path: a per-process cache bounded in time, invalidated by pub/sub.

A cached record lives at most ``ttl`` seconds (≤ 1 s), so even a lost invalidation message
cannot keep a revoked key alive longer than that; the ``keys.invalidate`` message makes every
worker and replica drop it at once. Last-use stamps are kept in memory and written in batches.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from flask_core.auth import Principal

from .models import ApiKey
from .store import KeyStore

MAX_CACHE_TTL = 1.0
MAX_CACHED_PREFIXES = 10_000


@dataclass(slots=True)
class _Cached:
    key: ApiKey | None
    fetched_at: float


class KeyAuthenticator:
    """The ``flask_core.auth.Authenticator`` of the router."""

    def __init__(self, store: KeyStore, ttl: float = 0.5) -> None:
        if not 0 <= ttl <= MAX_CACHE_TTL:
            raise ValueError(f"the key cache TTL must be between 0 and {MAX_CACHE_TTL} s")
        self.store = store
        self.ttl = ttl
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
        key = await self.store.by_prefix(prefix)
        if len(self._cache) >= MAX_CACHED_PREFIXES:
            self._evict_stale(clock)
        self._cache[prefix] = _Cached(key, clock)
        return key

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
