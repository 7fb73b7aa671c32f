"""Rate limits: fixed windows counted atomically in Redis, with a per-process fallback.

One decision checks every quota of a request and counts the hit against all of them only when
all allow it, in one Lua call, so the count is exact across workers and replicas. The response
carries the IETF ``RateLimit-Policy``/``RateLimit`` fields (draft-ietf-httpapi-ratelimit-headers)
and the legacy ``X-RateLimit-*`` ones.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.crc import key_slot

from .errors import RateLimited
from .failover import Failover
from .keyspace import DEFAULT_KEYSPACE
from .redis_client import is_cluster
from .settings import parse_rate

_WINDOWS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True, slots=True)
class Rate:
    limit: int
    window_seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"20/minute"`` → Rate(20, 60); ValueError when malformed."""
        count, _, unit = parse_rate(text).partition("/")
        return cls(int(count), _WINDOWS[unit])


@dataclass(frozen=True, slots=True)
class Quota:
    """One limit a request counts against: a policy name, a counter key and a rate."""

    policy: str
    key: str
    rate: Rate


@dataclass(frozen=True, slots=True)
class QuotaState:
    quota: Quota
    remaining: int
    reset_seconds: int


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    states: tuple[QuotaState, ...]

    @property
    def retry_after(self) -> int:
        exhausted = [s.reset_seconds for s in self.states if s.remaining <= 0]
        return max(1, max(exhausted, default=1))

    def merged(self, other: Decision) -> Decision:
        return Decision(self.allowed and other.allowed, self.states + other.states)

    def headers(self) -> dict[str, str]:
        """The IETF and legacy rate-limit fields for this decision."""
        if not self.states:
            return {}
        tightest = min(self.states, key=lambda s: (s.remaining, -s.reset_seconds))
        return {
            "RateLimit-Policy": ", ".join(
                f'"{s.quota.policy}";q={s.quota.rate.limit};w={s.quota.rate.window_seconds}'
                for s in self.states
            ),
            "RateLimit": ", ".join(
                f'"{s.quota.policy}";r={max(0, s.remaining)};t={s.reset_seconds}'
                for s in self.states
            ),
            "X-RateLimit-Limit": str(tightest.quota.rate.limit),
            "X-RateLimit-Remaining": str(max(0, tightest.remaining)),
            "X-RateLimit-Reset": str(tightest.reset_seconds),
        }

    def raise_if_denied(self) -> None:
        if not self.allowed:
            headers = {**self.headers(), "Retry-After": str(self.retry_after)}
            raise RateLimited(headers=headers)


class RateLimiter(Protocol):
    async def hit(self, quotas: Sequence[Quota]) -> Decision: ...

    async def hit_joined(
        self, quotas: Sequence[Quota], joined: JoinedStep | None
    ) -> tuple[Decision, Any]: ...


# Check every quota of one step and count the hit against all of them only when all allow it.
# ``keys``: the counters; ``args``: limit and window (seconds) per counter. Returns allowed (1/0),
# then count and PTTL per counter, then the server time (ms). A Lua function, so a script that
# must do more in the same atomic step (``JoinedStep``) can call it first.
HIT_QUOTAS_LUA = """
local function hit_quotas(keys, args)
  local counts, ttls, allowed = {}, {}, 1
  for i, key in ipairs(keys) do
    counts[i] = tonumber(redis.call('GET', key) or '0')
    ttls[i] = redis.call('PTTL', key)
    if counts[i] >= tonumber(args[2 * i - 1]) then allowed = 0 end
  end
  if allowed == 1 then
    for i, key in ipairs(keys) do
      counts[i] = redis.call('INCR', key)
      if counts[i] == 1 or ttls[i] < 0 then
        ttls[i] = tonumber(args[2 * i]) * 1000
        redis.call('PEXPIRE', key, ttls[i])
      end
    end
  end
  local now = redis.call('TIME')
  local result = {allowed}
  for i = 1, #keys do
    result[#result + 1] = counts[i]
    result[#result + 1] = ttls[i]
  end
  result[#result + 1] = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  return result
end
"""

_HIT = HIT_QUOTAS_LUA + "return hit_quotas(KEYS, ARGV)"


@dataclass(frozen=True, slots=True)
class JoinedStep:
    """Work that runs in one atomic step with the quotas of its hash slot, once they allow it.

    ``run(keys, args)`` gets those quotas' counter keys and ``hit_quotas`` arguments, runs one
    script (or pipeline) that calls ``hit_quotas`` (``HIT_QUOTAS_LUA``) and does its own work
    only when the quotas allowed it, and returns ``(hit_quotas' reply, its own result)``.
    ``slot_key`` is any key of the work's slot (on a cluster, the quotas of that slot join it).
    """

    slot_key: str
    run: Callable[[list[str], list[int]], Awaitable[tuple[Any, Any]]]


# KEYS: counters an earlier step counted; ARGV: the end of the window each was counted in (ms,
# server time). A counter is given its hit back only while that same window lasts: a window that
# ended and began again (another request's) ends at least one window length later.
_UNDO = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
for i, key in ipairs(KEYS) do
  local ttl = redis.call('PTTL', key)
  local count = tonumber(redis.call('GET', key) or '0')
  if ttl > 0 and count > 0 and math.abs(now_ms + ttl - tonumber(ARGV[i])) < 500 then
    redis.call('DECR', key)
  end
end
return 1
"""


def _state(quota: Quota, count: int, ttl_ms: int) -> QuotaState:
    window_ms = quota.rate.window_seconds * 1000
    reset = math.ceil((ttl_ms if ttl_ms > 0 else window_ms) / 1000)
    return QuotaState(quota, quota.rate.limit - count, reset)


@dataclass(frozen=True, slots=True)
class _Step:
    """One Lua call's outcome: the decision and the end of each quota's window (server ms)."""

    decision: Decision
    keys: list[str]
    ends_ms: list[int]


class RedisRateLimiter:
    """Counters ``{prefix}{quota.key}`` in Redis; one Lua call per decision and hash slot.

    On a cluster, the quotas of one decision may live in several slots (a key's quotas are
    tagged ``{k:<key>}``, a community's and its users' ``{c:<community>}``). Each slot is then
    one check-and-count step, in order; when a later step refuses, the earlier steps' hits are
    given back (in the same window only). The limit stays exact: a hit is counted only after
    its quotas allowed it, and a refused request's hits are taken back, so a quota never counts
    more admitted requests than its limit. The one cost: between a step and its undo a
    concurrent request may see that quota one hit fuller and be refused.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        prefix: str = DEFAULT_KEYSPACE.ratelimit_prefix,
        *,
        split_slots: bool | None = None,
    ) -> None:
        self._prefix = prefix
        self._split = is_cluster(redis) if split_slots is None else split_slots
        self._script = redis.register_script(_HIT)
        self._undo = redis.register_script(_UNDO)

    async def hit(self, quotas: Sequence[Quota]) -> Decision:
        decision, _ = await self.hit_joined(quotas, None)
        return decision

    async def hit_joined(
        self, quotas: Sequence[Quota], joined: JoinedStep | None
    ) -> tuple[Decision, Any]:
        """Decide on ``quotas``; ``joined`` runs with the last step, only if all allow it.

        Returns the decision and the joined work's result (None when it was refused).
        """
        groups = self._groups(quotas, joined)
        done: list[_Step] = []
        result = None
        for index, group in enumerate(groups):
            if joined is not None and index == len(groups) - 1:
                step, result = await self._joined_step(group, joined)
            else:
                step = await self._step(group)
            if not step.decision.allowed:
                await self._give_back(done)
                later = [await self._step(g, count=False) for g in groups[index + 1 :] if g]
                return _in_order(quotas, False, _given_back(done), step, *later), None
            done.append(step)
        return _in_order(quotas, True, *done), result

    def _groups(self, quotas: Sequence[Quota], joined: JoinedStep | None) -> list[list[Quota]]:
        """One group per step, in order; the joined work's slot last (possibly empty)."""
        if not self._split:
            return [list(quotas)] if quotas or joined else []
        groups: dict[int, list[Quota]] = {}
        for quota in quotas:
            groups.setdefault(key_slot(f"{self._prefix}{quota.key}".encode()), []).append(quota)
        if joined is None:
            return list(groups.values())
        last = groups.pop(key_slot(joined.slot_key.encode()), [])
        return [*groups.values(), last]

    def _call(self, quotas: Sequence[Quota], count: bool) -> tuple[list[str], list[int]]:
        args: list[int] = []
        for quota in quotas:
            args += [quota.rate.limit if count else 0, quota.rate.window_seconds]
        return [f"{self._prefix}{q.key}" for q in quotas], args

    async def _step(self, quotas: Sequence[Quota], *, count: bool = True) -> _Step:
        """Check-and-count ``quotas`` (one slot); ``count=False`` only reads them (limit 0)."""
        keys, args = self._call(quotas, count)
        return _parsed(quotas, keys, await self._script(keys=keys, args=args))

    async def _joined_step(self, quotas: Sequence[Quota], joined: JoinedStep) -> tuple[_Step, Any]:
        keys, args = self._call(quotas, True)
        raw, result = await joined.run(keys, args)
        return _parsed(quotas, keys, raw), result

    async def _give_back(self, done: Sequence[_Step]) -> None:
        for step in done:
            await self._undo(keys=step.keys, args=step.ends_ms)


def _parsed(quotas: Sequence[Quota], keys: list[str], raw: Any) -> _Step:
    now_ms = int(raw[-1])
    ttls = [int(raw[2 + 2 * i]) for i in range(len(quotas))]
    states = tuple(_state(q, int(raw[1 + 2 * i]), ttls[i]) for i, q in enumerate(quotas))
    return _Step(Decision(bool(int(raw[0])), states), keys, [now_ms + t for t in ttls])


def _given_back(done: Sequence[_Step]) -> _Step:
    """The earlier steps as they stand once their hits were given back."""
    states = tuple(
        QuotaState(s.quota, s.remaining + 1, s.reset_seconds)
        for step in done
        for s in step.decision.states
    )
    return _Step(Decision(True, states), [], [])


def _in_order(quotas: Sequence[Quota], allowed: bool, *steps: _Step) -> Decision:
    """One decision whose states follow the order the caller gave its quotas in."""
    found = {id(s.quota): s for step in steps for s in step.decision.states}
    return Decision(allowed, tuple(found[id(q)] for q in quotas))


class MemoryRateLimiter:
    """The same windows counted in this process only."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[int, float]] = {}  # key -> (count, ends_at)

    def _current(self, quota: Quota, now: float) -> tuple[int, float]:
        count, ends_at = self._windows.get(quota.key, (0, 0.0))
        if ends_at <= now:
            return 0, now + quota.rate.window_seconds
        return count, ends_at

    async def hit(self, quotas: Sequence[Quota]) -> Decision:
        now = self._clock()
        current = [self._current(q, now) for q in quotas]
        allowed = all(count < q.rate.limit for q, (count, _) in zip(quotas, current, strict=True))
        if allowed:
            current = [(count + 1, ends) for count, ends in current]
            for quota, window in zip(quotas, current, strict=True):
                self._windows[quota.key] = window
        self._forget_expired(now)
        states = tuple(
            _state(q, count, int((ends - now) * 1000))
            for q, (count, ends) in zip(quotas, current, strict=True)
        )
        return Decision(allowed, states)

    async def hit_joined(
        self, quotas: Sequence[Quota], joined: JoinedStep | None
    ) -> tuple[Decision, Any]:
        """The quotas only: joined work needs the shared store, so it is never run here."""
        return await self.hit(quotas), None

    def _forget_expired(self, now: float) -> None:
        if len(self._windows) > 10_000:
            self._windows = {k: v for k, v in self._windows.items() if v[1] > now}


class FailoverRateLimiter(Failover[RateLimiter]):
    """Redis counters while Redis answers, else this process's own."""

    def __init__(
        self, shared: RateLimiter, local: RateLimiter, *, cooldown_seconds: float = 1.0
    ) -> None:
        super().__init__(shared, local, "rate limits", cooldown_seconds)

    @property
    def degraded(self) -> bool:
        return self.outage.degraded

    async def hit(self, quotas: Sequence[Quota]) -> Decision:
        return await self.call(lambda limiter: limiter.hit(quotas))

    async def hit_joined(
        self, quotas: Sequence[Quota], joined: JoinedStep | None
    ) -> tuple[Decision, Any]:
        """Redis decides and runs ``joined`` while it answers; else the quotas are counted in
        this process and the result is None (the joined work did not run)."""
        return await self.call(lambda limiter: limiter.hit_joined(quotas, joined))
