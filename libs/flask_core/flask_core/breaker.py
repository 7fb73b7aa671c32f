"""Circuit breakers: the contract, the policy and the per-process implementation.

A breaker is closed (calls flow), open (calls fail fast until a back-off ends) or half-open
(a bounded number of probe calls decide between closing and opening again). The Redis
implementation (``breaker_redis``) keeps the same contract with state shared by every process.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

BreakerState = Literal["closed", "open", "half_open"]
CLOSED: BreakerState = "closed"
OPEN: BreakerState = "open"
HALF_OPEN: BreakerState = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """When a breaker opens, how long it stays open, and how it closes again."""

    consecutive_failures: int = 5
    window_seconds: float = 30.0
    failure_rate: float = 0.5
    minimum_calls: int = 10
    base_backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    jitter: float = 0.2  # the back-off is shortened by up to this fraction, at random
    half_open_max_probes: int = 1
    probe_successes_to_close: int = 2
    probe_timeout_seconds: float = 30.0  # a probe never reported is forgotten after this

    def backoff_seconds(self, opens: int, jitter_draw: float) -> float:
        """The open period after the ``opens``-th consecutive opening (capped, jittered)."""
        raw = min(self.max_backoff_seconds, self.base_backoff_seconds * 2 ** max(0, opens - 1))
        return raw * (1.0 - self.jitter * jitter_draw)


@dataclass(frozen=True, slots=True)
class Transition:
    """A breaker moved from one state to another."""

    name: str
    from_state: BreakerState
    to_state: BreakerState


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether a call may go through, and whether it is a half-open probe."""

    allowed: bool
    state: BreakerState
    retry_after: float = 0.0
    probe: bool = False
    transition: Transition | None = None


class BreakerStore(Protocol):
    """Breaker state for many named breakers; every method is one atomic decision."""

    async def acquire(self, name: str) -> Admission: ...

    async def record(self, name: str, *, success: bool, probe: bool) -> Transition | None: ...

    async def state(self, name: str) -> BreakerState: ...

    async def reset(self, name: str) -> Transition | None: ...

    async def half_open(self, name: str) -> Transition | None:
        """An open breaker moves to half-open now, so its next call is a probe (the instance
        behind it has just shown it is alive); any other state stays as it is."""
        ...


@dataclass(slots=True)
class _Breaker:
    state: BreakerState = CLOSED
    consecutive: int = 0
    opens: int = 0
    open_until: float = 0.0
    probes: int = 0
    probe_at: float = 0.0
    successes: int = 0
    window: dict[int, list[int]] = field(default_factory=dict)  # bucket -> [ok, failed]


WINDOW_BUCKETS = 10


class MemoryBreakerStore:
    """Breakers held in this process (the fallback when Redis is unreachable)."""

    def __init__(
        self,
        policy: BreakerPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy
        self._clock = clock
        self._draw = draw
        self._breakers: dict[str, _Breaker] = {}

    def _get(self, name: str) -> _Breaker:
        return self._breakers.setdefault(name, _Breaker())

    async def acquire(self, name: str) -> Admission:
        breaker, now = self._get(name), self._clock()
        if breaker.state == CLOSED:
            return Admission(True, CLOSED)
        transition = None
        if breaker.state == OPEN:
            if now < breaker.open_until:
                return Admission(False, OPEN, retry_after=breaker.open_until - now)
            breaker.state, breaker.probes, breaker.successes = HALF_OPEN, 0, 0
            transition = Transition(name, OPEN, HALF_OPEN)
        elif (
            breaker.probes >= self.policy.half_open_max_probes
            and now - breaker.probe_at > self.policy.probe_timeout_seconds
        ):
            breaker.probes = 0
        if breaker.probes >= self.policy.half_open_max_probes:
            return Admission(False, HALF_OPEN, retry_after=1.0, transition=transition)
        breaker.probes += 1
        breaker.probe_at = now
        return Admission(True, HALF_OPEN, probe=True, transition=transition)

    async def record(self, name: str, *, success: bool, probe: bool) -> Transition | None:
        breaker = self._get(name)
        if breaker.state == HALF_OPEN:
            return self._record_probe(name, breaker, success=success, probe=probe)
        if breaker.state == OPEN:
            return None  # a call admitted before the breaker opened
        self._count(breaker, success)
        if success:
            breaker.consecutive = 0
            return None
        breaker.consecutive += 1
        if breaker.consecutive >= self.policy.consecutive_failures or self._rate_exceeded(breaker):
            self._open(breaker)
            return Transition(name, CLOSED, OPEN)
        return None

    def _record_probe(
        self, name: str, breaker: _Breaker, *, success: bool, probe: bool
    ) -> Transition | None:
        if not probe:
            return None
        breaker.probes = max(0, breaker.probes - 1)
        if not success:
            self._open(breaker)
            return Transition(name, HALF_OPEN, OPEN)
        breaker.successes += 1
        if breaker.successes >= self.policy.probe_successes_to_close:
            self._breakers[name] = _Breaker()
            return Transition(name, HALF_OPEN, CLOSED)
        return None

    def _bucket(self) -> int:
        return int(self._clock() * WINDOW_BUCKETS / self.policy.window_seconds)

    def _count(self, breaker: _Breaker, success: bool) -> None:
        current = self._bucket()
        for bucket in [b for b in breaker.window if b <= current - WINDOW_BUCKETS]:
            del breaker.window[bucket]
        counts = breaker.window.setdefault(current, [0, 0])
        counts[0 if success else 1] += 1

    def _rate_exceeded(self, breaker: _Breaker) -> bool:
        ok = sum(counts[0] for counts in breaker.window.values())
        failed = sum(counts[1] for counts in breaker.window.values())
        total = ok + failed
        return total >= self.policy.minimum_calls and failed / total >= self.policy.failure_rate

    def _open(self, breaker: _Breaker) -> None:
        breaker.opens += 1
        backoff = self.policy.backoff_seconds(breaker.opens, self._draw())
        breaker.state, breaker.open_until = OPEN, self._clock() + backoff
        breaker.consecutive = breaker.probes = breaker.successes = 0
        breaker.window.clear()

    async def state(self, name: str) -> BreakerState:
        breaker = self._breakers.get(name)
        return breaker.state if breaker is not None else CLOSED

    async def reset(self, name: str) -> Transition | None:
        breaker = self._breakers.pop(name, None)
        if breaker is None or breaker.state == CLOSED:
            return None
        return Transition(name, breaker.state, CLOSED)

    async def half_open(self, name: str) -> Transition | None:
        breaker = self._breakers.get(name)
        if breaker is None or breaker.state != OPEN:
            return None
        breaker.state, breaker.probes, breaker.successes = HALF_OPEN, 0, 0
        return Transition(name, OPEN, HALF_OPEN)
