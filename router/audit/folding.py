"""Repeated AUTH failures folded into one audit record with a count (SPEC §10).

A flood of requests with a bogus key must not grow the trail without bound. Failures are
counted per (client address, key prefix, window) in Redis, so every worker and replica shares
one count: the first failure of a window is recorded at once (``count`` 1), and when the window
has closed one process (the one whose ``SPOP`` takes the pair) records a summary with the
failures that followed (``count`` = the rest), so the counts of a pair's records add up to its
failures. While Redis is unreachable this process counts on its own, the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from flask_core.keyspace import DEFAULT_KEYSPACE, Keyspace
from flask_core.logging import get_logger
from flask_core.redis_client import reply_text
from flask_core.timestamps import rfc3339

from .records import AuditSink

if TYPE_CHECKING:
    import redis.asyncio as aioredis

_log = get_logger("router.audit.folding")

_COUNT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return n
"""
_GRACE_WINDOWS = 2  # a window is summarised one whole window after it closed (clock skew)
_KEPT_WINDOWS = 3  # how many closed windows a summariser still looks at
_MAX_LOCAL = 10_000  # pairs counted in-process during an outage; beyond it, record each
_SEPARATOR = "|"


class AuthFailureFolding:
    """Counts AUTH failures and writes the summaries of closed windows."""

    def __init__(
        self,
        redis: aioredis.Redis,
        audit: AuditSink,
        *,
        window_seconds: int = 60,
        keyspace: Keyspace = DEFAULT_KEYSPACE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._audit = audit
        self._window = window_seconds
        self._keys = keyspace
        self._clock = clock
        self._count = redis.register_script(_COUNT)
        self._local: dict[tuple[int, str, str], int] = {}
        # Windows a stopped process left behind are picked up too (SPOP: once in the fleet).
        self._unsummarised = self._current_window() - _GRACE_WINDOWS - _KEPT_WINDOWS

    def _current_window(self) -> int:
        return int(self._clock() // self._window)

    async def count(self, address: str, prefix: str) -> int:
        """Count one failure; its number within the window (1: record it now)."""
        window = self._current_window()
        try:
            reply = await self._count(
                keys=[
                    self._keys.auth_failures(window, address, prefix),
                    self._keys.auth_failures_open(window),
                ],
                # Kept long enough for a summariser to find them after the window closed.
                args=[
                    f"{address}{_SEPARATOR}{prefix}",
                    self._window * (_GRACE_WINDOWS + _KEPT_WINDOWS + 1),
                ],
            )
            return int(reply)
        except (RedisError, OSError):
            return self._count_locally((window, address, prefix))

    def _count_locally(self, pair: tuple[int, str, str]) -> int:
        if pair not in self._local and len(self._local) >= _MAX_LOCAL:
            return 1
        self._local[pair] = self._local.get(pair, 0) + 1
        return self._local[pair]

    async def run(self) -> None:
        """Summarise closed windows, forever (a background task)."""
        while True:
            await asyncio.sleep(min(5.0, self._window))
            try:
                await self.summarise_closed()
            except (RedisError, OSError) as error:
                _log.warning("AUTH summaries postponed: %r", error, extra={"event_type": "SYSTEM"})

    async def summarise_closed(self) -> None:
        """Record the summary of every pair whose window has closed (a window of grace for
        workers whose clocks lag)."""
        closed = self._current_window() - _GRACE_WINDOWS
        self._summarise_local(closed)
        # Older counters have expired (this process was stopped meanwhile).
        first = max(self._unsummarised, closed - _KEPT_WINDOWS)
        for window in range(first, closed + 1):
            await self._summarise_window(window)
            self._unsummarised = window + 1

    async def _summarise_window(self, window: int) -> None:
        while True:
            member = await self._redis.spop(self._keys.auth_failures_open(window))
            if member is None:
                return
            address, _, prefix = reply_text(member).rpartition(_SEPARATOR)
            total = await self._redis.getdel(self._keys.auth_failures(window, address, prefix))
            self._summary(window, address, prefix, int(total or 0))

    def _summarise_local(self, closed: int) -> None:
        for pair in [pair for pair in self._local if pair[0] <= closed]:
            self._summary(*pair, self._local.pop(pair))

    def close(self) -> None:
        """Record what this process counted on its own, open windows too: nothing else will."""
        self._summarise_local(self._current_window())

    def _summary(self, window: int, address: str, prefix: str, total: int) -> None:
        if total <= 1:  # the first failure is recorded already
            return
        self._audit.record(
            "AUTH",
            "auth.failures",
            "denied",
            reason="repeated authentication failures",
            details={
                "remote": address,
                "key_prefix": prefix,
                "count": total - 1,
                "status": 401,
                "window_start": rfc3339(datetime.fromtimestamp(window * self._window, UTC)),
                "window_seconds": self._window,
            },
        )
