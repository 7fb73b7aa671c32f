"""The Redis side of ingest: dedup, durable append and live publish in one atomic script."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from redis.exceptions import TimeoutError as RedisTimeoutError

from flask_core.api import dumps
from flask_core.keyspace import DEFAULT_KEYSPACE, Keyspace
from flask_core.ratelimit import HIT_QUOTAS_LUA, JoinedStep
from flask_core.redis_client import OUTAGE_ERRORS

from .models import Envelope, group_member, is_reply_type
from .spool import new_claim

if TYPE_CHECKING:
    import redis.asyncio as aioredis
    from redis.commands.core import AsyncScript

_INDEXED_MAX = 100_000
_WAIT_MS = 100

# Errors that mean "Redis is not there right now" (spool), as opposed to a fault (raise: the
# request handler answers 503 and logs the cause at ERROR).
UNREACHABLE = OUTAGE_ERRORS

# The seen key gates everything. It holds ``a:<claim>`` once the attempt presenting that claim
# token appended the event, or ``c:<claim>`` while an event claimed by a spooling process waits
# in its spool (CLAIM below). The attempt holding the claim may append; any other is a
# duplicate (0). The same claim again (a drain repeating a batch after a failure, a request
# retrying after a lost reply) appends nothing but is told its event is in (2).
#
# keys: seen key, stream, the community's groups set (all three in the community's hash slot,
# so the script runs on one cluster node). args: ttl, channel, envelope, maxlen, community, type,
# claim, then the ids of the modules subscribed to the type. A duplicate can never append or
# publish; a module's group is created on its first event, just before that event, so it starts
# exactly where its subscription began. An empty channel publishes nothing: a reply's live form
# is the responses.* message, not an events.* one.
# A script is not rolled back when a command fails half-way, so the keys' types are checked
# (``wrong_types``) before the first write: a wrongly typed stream must not leave the id marked
# as seen, nor a quota counted.
_ACCEPT_LUA = """
local function wrong_types(keys)
  local stream, groups = redis.call('TYPE', keys[2])['ok'], redis.call('TYPE', keys[3])['ok']
  if (stream ~= 'none' and stream ~= 'stream') or (groups ~= 'none' and groups ~= 'set') then
    return redis.error_reply('WRONGTYPE ' .. keys[2] .. ' or ' .. keys[3] .. ' is not a stream/set')
  end
  return nil
end

local function accept(keys, args)
  local appended = 'a:' .. args[7]
  if not redis.call('SET', keys[1], appended, 'NX', 'EX', args[1]) then
    local holder = redis.pcall('GET', keys[1])  -- another type: a duplicate, as SET NX says
    if holder == appended then return 2 end
    if holder ~= 'c:' .. args[7] then return 0 end
    redis.call('SET', keys[1], appended, 'EX', args[1])
  end
  local targets = {}
  for i = 8, #args do
    if redis.call('SADD', keys[3], args[i]) == 1 then
      redis.pcall('XGROUP', 'CREATE', keys[2], args[i], '$', 'MKSTREAM')
    end
    targets[#targets + 1] = args[i]
  end
  redis.call('XADD', keys[2], 'MAXLEN', '~', args[4], '*',
    'e', args[3], 't', args[6], 'to', table.concat(targets, ','))
  if args[2] ~= '' then redis.call('PUBLISH', args[2], args[3]) end
  return 1
end
"""

_ACCEPT = (
    _ACCEPT_LUA
    + """
local wrong = wrong_types(KEYS)
if wrong then return wrong end
return accept(KEYS, ARGV)
"""
)

# The ingest decision in one step: the request's quotas (``hit_quotas``), then, only if they all
# allow it, the accept. KEYS: the accept's three keys, then the quota counters. ARGV: the number
# of counters n, their 2n ``hit_quotas`` arguments, then the accept's args. Returns
# {hit_quotas' reply, accept's reply (-1 when the quotas refused)}.
_ADMIT_AND_ACCEPT = (
    HIT_QUOTAS_LUA
    + _ACCEPT_LUA
    + """
local wrong = wrong_types(KEYS)
if wrong then return wrong end
local n = tonumber(ARGV[1])
local counters, limits, args = {}, {}, {}
for i = 1, n do counters[i] = KEYS[3 + i] end
for i = 1, 2 * n do limits[i] = ARGV[1 + i] end
for i = 2 * n + 2, #ARGV do args[#args + 1] = ARGV[i] end
local verdict = hit_quotas(counters, limits)
if verdict[1] == 0 then return {verdict, -1} end
return {verdict, accept(KEYS, args)}
"""
)

# Claim an event id for a spooled line before answering 202, so the dedupe stays shared while
# events queue behind the spool. KEYS: the seen key. ARGV: claim, ttl. 1 when the id is this
# claim's (also when the line's replay already appended it), 0 when another attempt has it.
_CLAIM = """
if redis.call('SET', KEYS[1], 'c:' .. ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end
if redis.pcall('GET', KEYS[1]) == 'a:' .. ARGV[1] then return 1 end
return 0
"""


class NotReplicated(RedisTimeoutError):
    """No replica confirmed an accepted event in time: keep it in the spool, not only in Redis."""


class EventStore:
    """Accept envelopes into Redis and publish responses."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        dedup_ttl: int,
        stream_maxlen: int,
        keyspace: Keyspace = DEFAULT_KEYSPACE,
        wait_replicas: int = 0,
    ) -> None:
        self._redis = redis
        # Behind Sentinel, an event counts as stored only once a replica has it (WAIT, at most
        # 100 ms): a failover promotes the replica and the old master's unreplicated writes are
        # gone. Without that confirmation the event goes to the spool (an outage, for ingest),
        # whose flusher keeps it until a replica confirms it.
        self._wait_replicas = wait_replicas
        self._keys = keyspace
        self._accept = redis.register_script(_ACCEPT)
        self._claim = redis.register_script(_CLAIM)
        self._admit = redis.register_script(_ADMIT_AND_ACCEPT)
        self._dedup_ttl = dedup_ttl
        self._maxlen = stream_maxlen
        self._indexed: set[str] = set()  # "module|community" pairs known to be in the index

    async def accept(
        self, envelope: Envelope, subscribers: Sequence[str], claim: str | None = None
    ) -> bool:
        """Record, append and publish ``envelope`` once; False when its id was already seen.

        ``claim`` is the token of a spooled line (its own claim lets it through).
        """
        keys, args = self._accept_call(envelope, subscribers, claim)
        accepted, replicas = await self._run(self._accept, keys, args)
        return await self._settle((int(accepted), replicas), envelope.community_id, subscribers)

    def admitted_accept(
        self, envelope: Envelope, subscribers: Sequence[str], claim: str
    ) -> JoinedStep:
        """The accept as the last step of the request's rate-limit decision: one round trip
        for both, and nothing appended when a quota refuses. Finish with ``settle``."""
        keys, args = self._accept_call(envelope, subscribers, claim)

        async def run(counters: list[str], limits: list[int]) -> tuple[Any, Any]:
            reply, replicas = await self._run(
                self._admit, [*keys, *counters], [len(counters), *limits, *args]
            )
            verdict, accepted = reply
            return verdict, (int(accepted), replicas)

        return JoinedStep(keys[0], run)

    async def settle(self, outcome: Any, envelope: Envelope, subscribers: Sequence[str]) -> bool:
        """Whether an ``admitted_accept`` appended its event (raises NotReplicated)."""
        return await self._settle(outcome, envelope.community_id, subscribers)

    def _accept_call(
        self, envelope: Envelope, subscribers: Sequence[str], claim: str | None
    ) -> tuple[list[str], list[Any]]:
        community = envelope.community_id
        names = self._keys
        keys = [
            names.event_seen(community, envelope.event_id),
            names.event_stream(community),
            names.event_community_groups(community),
        ]
        live = "" if is_reply_type(envelope.type) else names.event_channel(community, envelope.type)
        args: list[Any] = [
            self._dedup_ttl,
            live,
            envelope.to_json(),
            self._maxlen,
            community,
            envelope.type,
            claim or new_claim(),
            *sorted(set(subscribers)),
        ]
        return keys, args

    async def claim(self, envelope: Envelope, claim: str) -> bool:
        """Reserve ``envelope``'s id for the spooled line carrying ``claim``; False if taken."""
        key = self._keys.event_seen(envelope.community_id, envelope.event_id)
        return bool(await self._claim(keys=[key], args=[claim, self._dedup_ttl]))

    async def _run(self, script: AsyncScript, keys: list[str], args: list[Any]) -> tuple[Any, int]:
        """The script's reply, and how many replicas confirmed it (when that is asked)."""
        if not self._wait_replicas:
            return await script(keys=keys, args=args), 0
        # WAIT counts the writes of its own connection: one pipeline keeps both on one.
        async with self._redis.pipeline(transaction=False) as pipe:
            await script(keys=keys, args=args, client=pipe)
            pipe.execute_command("WAIT", self._wait_replicas, _WAIT_MS)
            reply, replicas = await pipe.execute()
        return reply, int(replicas)

    async def _settle(
        self, outcome: tuple[int, int], community: str, subscribers: Sequence[str]
    ) -> bool:
        accepted, replicas = outcome
        if replicas < self._wait_replicas:
            raise NotReplicated(f"{replicas} of {self._wait_replicas} replicas confirmed")
        if accepted in (1, 2):
            await self._index_groups(community, subscribers)
        return accepted in (1, 2)

    def forget_indexed(self) -> None:
        """Forget which groups this process listed: Redis lost its data, index included."""
        self._indexed.clear()

    async def _index_groups(self, community: str, subscribers: Sequence[str]) -> None:
        """List each (module, community) group in the one index the deliverers scan.

        The index lives in its own slot, so it is written after the script (which created the
        group in the community's slot). Each process writes a pair once; a process that died in
        between leaves the pair to the next one that accepts an event for it.
        """
        pairs = {group_member(module_id, community) for module_id in subscribers} - self._indexed
        if not pairs:
            return
        await self._redis.sadd(self._keys.event_groups, *sorted(pairs))
        if len(self._indexed) > _INDEXED_MAX:
            self._indexed.clear()
        self._indexed |= pairs

    async def publish_response(self, community: str, platform: str, message: dict[str, Any]) -> int:
        """Publish a message for a platform module on ``responses.{community}.{platform}``."""
        channel = self._keys.response_channel(community, platform)
        return int(await self._redis.publish(channel, dumps(message)))
