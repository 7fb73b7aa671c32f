"""Active health checks: each instance probed once per interval by one router process.

A Redis lock per instance and interval picks the prober among every worker and replica; the
verdict (down after repeated failures, up again on the first success) lives in Redis and is
announced, so every snapshot agrees.
"""

from __future__ import annotations

import asyncio
import os
import uuid

import httpx
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from flask_core.logging import get_logger
from flask_core.redis_client import reply_text

from ..audit.records import AuditSink
from .live import Registry
from .models import InstanceView
from .networks import Reachable

_log = get_logger("router.registry.prober")

_VERDICT = """
local name, ok, threshold, channel = ARGV[1], ARGV[2] == '1', tonumber(ARGV[3]), ARGV[4]
local previous = redis.call('HGET', KEYS[1], name)
if ok then
  redis.call('DEL', KEYS[2])
  if previous == 'down' then
    redis.call('HDEL', KEYS[1], name)
    redis.call('PUBLISH', channel, cjson.encode({kind = 'health', instance = name, healthy = true}))
    return 'up'
  end
  return ''
end
local failures = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], 3600000)
if failures >= threshold and previous ~= 'down' then
  redis.call('HSET', KEYS[1], name, 'down')
  redis.call('PUBLISH', channel, cjson.encode({kind = 'health', instance = name, healthy = false}))
  return 'down'
end
return ''
"""


class HealthProber:
    """Probes ``{base_url}{health_check}`` of every leased instance each interval."""

    def __init__(
        self,
        registry: Registry,
        redis: aioredis.Redis,
        http: httpx.AsyncClient,
        audit: AuditSink,
        *,
        interval_seconds: float,
        timeout_seconds: float,
        failures_to_down: int,
        reap_after_seconds: float,
    ) -> None:
        self._registry = registry
        self._redis = redis
        self._http = http
        self._audit = audit
        self._interval = interval_seconds
        self._timeout = min(timeout_seconds, interval_seconds)
        self._failures_to_down = failures_to_down
        self._reap_after = reap_after_seconds
        self._verdict = redis.register_script(_VERDICT)
        self._token = f"{os.getpid()}:{uuid.uuid4().hex[:8]}"

    async def run(self) -> None:
        while True:
            try:
                await self.probe_all()
                await self._reap()
            except (RedisError, OSError) as error:
                _log.warning("health checks skipped: %r", error, extra={"event_type": "SYSTEM"})
            await asyncio.sleep(self._interval)

    async def probe_all(self) -> None:
        leased = [i for i in self._registry.instances() if i.leased]
        await asyncio.gather(*(self._probe(instance) for instance in leased))

    async def _claim(self, name: str) -> bool:
        """Whether this process probes ``name`` in this interval."""
        lock_ms = max(1, int(self._interval * 900))
        return bool(await self._redis.set(name, self._token, nx=True, px=lock_ms))

    async def _probe(self, instance: InstanceView) -> None:
        names = self._registry.keyspace
        if not await self._claim(names.registry_health_lock(instance.breaker_name)):
            return
        ok = await self._check(instance)
        reply = await self._verdict(
            keys=[names.registry_health, names.registry_health_failures(instance.breaker_name)],
            args=[instance.breaker_name, int(ok), self._failures_to_down, names.registry_channel],
        )
        verdict = reply_text(reply)
        if verdict:
            instance.healthy = verdict == "up"
            self._report(instance, verdict)
        if verdict == "up":  # one process gets this verdict: it gives the breaker its probe
            await self._registry.instance_back(instance.breaker_name)

    async def _check(self, instance: InstanceView) -> bool:
        # Checked at every probe: a host name may point elsewhere than when it registered.
        reachable = await self._registry.networks.check(
            f"{instance.base_url}{instance.health_check}"
        )
        if reachable is None:
            _log.warning(
                "not probing %s: its address is outside ROUTER_MODULE_NETWORKS",
                instance.breaker_name,
                extra={"event_type": "SYSTEM", "action": "module.health"},
            )
            return False
        response = await self._fetch(reachable)
        if response is None:
            return False
        if response.status_code != 200:
            return False
        try:
            body = response.json()
        except ValueError:
            return False
        return not isinstance(body, dict) or body.get("status") != "unhealthy"

    async def _fetch(self, reachable: Reachable) -> httpx.Response | None:
        """The health answer through the first checked address that accepts a connection."""
        for url, headers in reachable.pinned():
            try:
                return await self._http.get(url, headers=headers, timeout=self._timeout)
            except httpx.ConnectError:
                continue
            except httpx.HTTPError:
                return None
        return None

    def _report(self, instance: InstanceView, verdict: str) -> None:
        details = {"module_id": instance.module_id, "instance_id": instance.instance_id}
        _log.warning(
            "instance %s is %s",
            instance.breaker_name,
            "healthy again" if verdict == "up" else "unavailable",
            extra={
                "event_type": "SYSTEM",
                "action": "module.health",
                "result": "success" if verdict == "up" else "failure",
            },
        )
        self._audit.record(
            "SYSTEM",
            "module.health",
            "success" if verdict == "up" else "failure",
            reason=None if verdict == "up" else "repeated health-check failures",
            details={**details, "health": "healthy" if verdict == "up" else "unavailable"},
        )

    async def _reap(self) -> None:
        lock_ms = max(1, int(self._interval * 900))
        reap_lock = self._registry.keyspace.registry_reap_lock
        if not await self._redis.set(reap_lock, self._token, nx=True, px=lock_ms):
            return
        if await self._registry.store.reap(self._reap_after):
            await self._registry.changed()
