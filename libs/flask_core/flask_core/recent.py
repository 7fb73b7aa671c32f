"""The in-process memory of recent ids: the dedup of last resort when Redis is down."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable


class RecentIds:
    """A bounded LRU of ids seen lately; an id also falls out ``ttl_seconds`` after it was added.

    Bounded so a flood of fresh ids costs fixed memory: the least recently seen go first.
    """

    def __init__(self, capacity: int = 50_000, ttl_seconds: float | None = 86_400) -> None:
        self._seen: OrderedDict[Hashable, float] = OrderedDict()
        self._capacity = capacity
        self._ttl = ttl_seconds

    def seen(self, key: Hashable) -> bool:
        """True when ``key`` was added within the TTL (and keep it as recently used)."""
        added_at = self._seen.get(key)
        if added_at is None:
            return False
        if self._ttl is not None and time.monotonic() - added_at >= self._ttl:
            del self._seen[key]
            return False
        self._seen.move_to_end(key)
        return True

    def remember(self, key: Hashable) -> None:
        """Hold ``key`` as seen from now on."""
        self._seen[key] = time.monotonic()
        self._seen.move_to_end(key)
        while len(self._seen) > self._capacity:
            self._seen.popitem(last=False)

    def add(self, key: Hashable) -> bool:
        """Remember ``key``; False when it was already seen within the TTL."""
        if self.seen(key):
            return False
        self.remember(key)
        return True

    def forget(self, key: Hashable) -> None:
        self._seen.pop(key, None)

    def __len__(self) -> int:
        return len(self._seen)
