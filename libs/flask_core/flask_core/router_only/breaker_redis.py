"""Circuit breakers shared by every process through Redis; each decision is one Lua call.

Time comes from the Redis server (``TIME``) so processes with skewed clocks still agree.
Transitions are published from inside the script, so exactly one message leaves per change.
An opening's message carries ``open_until_ms`` (with ``at_ms``, both server time), so a
listener knows how long the breaker stays open without asking.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from typing import Any, cast

import redis.asyncio as aioredis

from ..breaker import (
    CLOSED,
    Admission,
    BreakerPolicy,
    BreakerState,
    BreakerStore,
    Transition,
)
from ..failover import Failover
from ..keyspace import DEFAULT_KEYSPACE, tag
from ..redis_client import OUTAGE_ERRORS, STORE_ERRORS, reply_text, store_fault

_COMMON = """
local key, wkey = KEYS[1], KEYS[2]
local channel, meta = ARGV[1], ARGV[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function announce(from, to, open_until)
  if channel ~= '' then
    local message = cjson.decode(meta)
    message['from'] = from
    message['to'] = to
    message['at_ms'] = now
    message['open_until_ms'] = open_until
    redis.call('PUBLISH', channel, cjson.encode(message))
  end
end
"""

_ACQUIRE = (
    _COMMON
    + """
local max_probes, probe_timeout = tonumber(ARGV[3]), tonumber(ARGV[4])
local s = redis.call('HMGET', key, 'state', 'open_until', 'probes', 'probe_at')
local state = s[1] or 'closed'
if state == 'closed' then return {1, 'closed', 0, 0, ''} end
local probes = tonumber(s[3]) or 0
local transition = ''
if state == 'open' then
  local open_until = tonumber(s[2]) or 0
  if now < open_until then return {0, 'open', open_until - now, 0, ''} end
  redis.call('HSET', key, 'state', 'half_open', 'probes', 0, 'successes', 0)
  probes = 0
  transition = 'open'
  announce('open', 'half_open')
elseif probes >= max_probes and now - (tonumber(s[4]) or 0) > probe_timeout then
  probes = 0
end
if probes >= max_probes then return {0, 'half_open', 1000, 0, transition} end
redis.call('HSET', key, 'probes', probes + 1, 'probe_at', now)
return {1, 'half_open', 0, 1, transition}
"""
)

_RECORD = (
    _COMMON
    + """
local success, probe = ARGV[3] == '1', ARGV[4] == '1'
local threshold, window_ms = tonumber(ARGV[5]), tonumber(ARGV[6])
local rate, min_calls = tonumber(ARGV[7]), tonumber(ARGV[8])
local base_ms, max_ms, jitter = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local to_close = tonumber(ARGV[12])
local state = redis.call('HGET', key, 'state') or 'closed'

local function open(from)
  local opens = redis.call('HINCRBY', key, 'opens', 1)
  local backoff = math.min(max_ms, base_ms * 2 ^ (opens - 1)) * jitter
  local open_until = math.floor(now + backoff)
  redis.call('HSET', key, 'state', 'open', 'open_until', open_until,
    'consecutive', 0, 'probes', 0, 'successes', 0)
  redis.call('DEL', wkey)
  announce(from, 'open', open_until)
  return {from, 'open'}
end

if state == 'open' then return {} end
if state == 'half_open' then
  if not probe then return {} end
  local probes = tonumber(redis.call('HGET', key, 'probes') or '0')
  redis.call('HSET', key, 'probes', math.max(0, probes - 1))
  if not success then return open('half_open') end
  if redis.call('HINCRBY', key, 'successes', 1) >= to_close then
    redis.call('DEL', key, wkey)
    announce('half_open', 'closed')
    return {'half_open', 'closed'}
  end
  return {}
end

local bucket_ms = window_ms / 10
local current = math.floor(now / bucket_ms)
redis.call('HINCRBY', wkey, (success and 'o' or 'f') .. current, 1)
redis.call('PEXPIRE', wkey, math.ceil(window_ms * 2))
redis.call('PEXPIRE', key, 86400000)
if success then
  redis.call('HSET', key, 'state', 'closed', 'consecutive', 0)
  return {}
end
local consecutive = redis.call('HINCRBY', key, 'consecutive', 1)
redis.call('HSET', key, 'state', 'closed')
if consecutive >= threshold then return open('closed') end
local counts = redis.call('HGETALL', wkey)
local ok, failed = 0, 0
for i = 1, #counts, 2 do
  local b = tonumber(string.sub(counts[i], 2))
  if b <= current - 10 then
    redis.call('HDEL', wkey, counts[i])
  elseif string.sub(counts[i], 1, 1) == 'o' then
    ok = ok + tonumber(counts[i + 1])
  else
    failed = failed + tonumber(counts[i + 1])
  end
end
if ok + failed >= min_calls and failed / (ok + failed) >= rate then return open('closed') end
return {}
"""
)

_HALF_OPEN = (
    _COMMON
    + """
if redis.call('HGET', key, 'state') ~= 'open' then return '' end
redis.call('HSET', key, 'state', 'half_open', 'probes', 0, 'successes', 0)
announce('open', 'half_open')
return 'open'
"""
)

_RESET = (
    _COMMON
    + """
local state = redis.call('HGET', key, 'state') or 'closed'
redis.call('DEL', key, wkey)
if state ~= 'closed' then announce(state, 'closed') end
return state
"""
)


class RedisBreakerStore:
    """Breakers in Redis hashes ``{prefix}{b:<name>}``; every worker and replica agrees.

    A breaker's hash and its window share the hash tag, so each script runs on one slot.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        policy: BreakerPolicy,
        *,
        prefix: str = DEFAULT_KEYSPACE.breaker_prefix,
        channel: str = "",
        meta: Callable[[str], Mapping[str, Any]] = lambda name: {"breaker": name},
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy
        self._prefix = prefix
        self._channel = channel
        self._meta = meta
        self._draw = draw
        self._acquire = redis.register_script(_ACQUIRE)
        self._record = redis.register_script(_RECORD)
        self._reset = redis.register_script(_RESET)
        self._half_open = redis.register_script(_HALF_OPEN)

    def _keys(self, name: str) -> list[str]:
        key = self._prefix + tag("b", name)
        return [key, f"{key}:window"]

    def _head(self, name: str) -> list[Any]:
        return [self._channel, json.dumps(dict(self._meta(name)))]

    async def acquire(self, name: str) -> Admission:
        policy = self.policy
        raw = await self._acquire(
            keys=self._keys(name),
            args=[
                *self._head(name),
                policy.half_open_max_probes,
                int(policy.probe_timeout_seconds * 1000),
            ],
        )
        allowed, state, retry_ms, probe, previous = raw
        state_name = cast(BreakerState, reply_text(state))
        transition = Transition(name, "open", state_name) if reply_text(previous) else None
        return Admission(
            bool(int(allowed)),
            state_name,
            retry_after=int(retry_ms) / 1000,
            probe=bool(int(probe)),
            transition=transition,
        )

    async def record(self, name: str, *, success: bool, probe: bool) -> Transition | None:
        policy = self.policy
        jitter = 1.0 - policy.jitter * self._draw()
        raw = await self._record(
            keys=self._keys(name),
            args=[
                *self._head(name),
                int(success),
                int(probe),
                policy.consecutive_failures,
                int(policy.window_seconds * 1000),
                policy.failure_rate,
                policy.minimum_calls,
                int(policy.base_backoff_seconds * 1000),
                int(policy.max_backoff_seconds * 1000),
                jitter,
                policy.probe_successes_to_close,
            ],
        )
        if not raw:
            return None
        return Transition(
            name, cast(BreakerState, reply_text(raw[0])), cast(BreakerState, reply_text(raw[1]))
        )

    async def state(self, name: str) -> BreakerState:
        raw = await self._acquire.registered_client.hget(self._keys(name)[0], "state")
        return cast(BreakerState, reply_text(raw)) if raw is not None else CLOSED

    async def reset(self, name: str) -> Transition | None:
        previous = reply_text(await self._reset(keys=self._keys(name), args=self._head(name)))
        if previous == CLOSED:
            return None
        return Transition(name, cast(BreakerState, previous), CLOSED)

    async def half_open(self, name: str) -> Transition | None:
        moved = reply_text(await self._half_open(keys=self._keys(name), args=self._head(name)))
        return Transition(name, "open", "half_open") if moved else None


class FailoverBreakerStore(Failover[BreakerStore]):
    """Redis breakers while Redis answers; this process's own while it does not."""

    def __init__(
        self, shared: BreakerStore, local: BreakerStore, *, cooldown_seconds: float = 1.0
    ) -> None:
        super().__init__(shared, local, "circuit breakers", cooldown_seconds)

    async def acquire(self, name: str) -> Admission:
        return await self.call(lambda store: store.acquire(name))

    async def record(self, name: str, *, success: bool, probe: bool) -> Transition | None:
        return await self.call(lambda store: store.record(name, success=success, probe=probe))

    async def state(self, name: str) -> BreakerState:
        return await self.call(lambda store: store.state(name))

    async def half_open(self, name: str) -> Transition | None:
        return await self.call(lambda store: store.half_open(name))

    async def reset(self, name: str) -> Transition | None:
        local = await self.local.reset(name)
        try:
            shared = await self.shared.reset(name)
        except OUTAGE_ERRORS as error:  # even mid-cooldown: an admin reset must reach Redis
            self.outage.failed(error)
            return local
        except STORE_ERRORS as error:
            raise store_fault(error, "a breaker reset") from error
        self.outage.recovered()
        return shared or local
