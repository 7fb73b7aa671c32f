"""The limit on callers without a valid key (SPEC §10, ``ROUTER_RATE_LIMIT_ANONYMOUS``).

Each request whose key is missing or unknown counts against its client address in the shared
limiter (exact across workers; per process while Redis is down). Once an address is over, this
process remembers it until the window ends and refuses its requests before the key is looked
up, so a flood of bad keys costs no database lookup and no audit record; each process learns
it with at most one more lookup per window.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable

from flask_core.ratelimit import Decision, Quota, Rate, RateLimiter

_MAX_REMEMBERED = 10_000


class AnonymousLimit:
    """``flask_core.auth.AnonymousGate`` for the router."""

    def __init__(
        self, limiter: RateLimiter, rate: Rate, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limiter = limiter
        self._rate = rate
        self._clock = clock
        self._over: dict[str, tuple[float, Decision]] = {}  # address -> (until, last decision)

    async def admit(self, address: str) -> None:
        known = self._over.get(address)
        if known is None:
            return
        until, decision = known
        left = until - self._clock()
        if left <= 0:
            del self._over[address]
            return
        reset = max(1, math.ceil(left))
        states = tuple(dataclasses.replace(s, reset_seconds=reset) for s in decision.states)
        Decision(False, states).raise_if_denied()

    async def refused(self, address: str) -> None:
        quota = Quota("anonymous", f"anonymous:{address}", self._rate)
        decision = await self._limiter.hit([quota])
        if not decision.allowed:
            self._remember(address, decision)
        decision.raise_if_denied()

    def _remember(self, address: str, decision: Decision) -> None:
        now = self._clock()
        if len(self._over) >= _MAX_REMEMBERED:  # many addresses at once: keep the live ones
            self._over = {a: v for a, v in self._over.items() if v[0] > now}
            if len(self._over) >= _MAX_REMEMBERED:
                self._over.clear()
        self._over[address] = (now + decision.retry_after, decision)
