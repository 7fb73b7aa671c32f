"""The registry as every worker sees it: an in-memory snapshot kept fresh through Redis.

PostgreSQL is the record; the hot path only reads the snapshot. A change bumps a version
counter in Redis and is announced on ``registry.changed``, so other workers and replicas reload
at once; a one-second poll of the version, the leases and the health states catches anything a
lost message missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from flask_core.keyspace import DEFAULT_KEYSPACE, Keyspace
from flask_core.logging import get_logger
from flask_core.redis_client import reply_text
from flask_core.tasks import BackgroundTasks

from .models import ActionRoute, CommandRoute, InstanceView, ModuleView
from .networks import ModuleNetworks
from .store import RegistryStore

_log = get_logger("router.registry")
MessageHandler = Callable[[dict[str, Any]], None]
InstanceHandler = Callable[[str], Awaitable[None]]


class Registry:
    """Snapshot of modules, instances, action and command routes; refreshed, never queried."""

    def __init__(
        self,
        store: RegistryStore,
        redis: aioredis.Redis,
        *,
        poll_seconds: float = 1.0,
        keyspace: Keyspace = DEFAULT_KEYSPACE,
        networks: ModuleNetworks | None = None,
    ) -> None:
        self.store = store
        self.keyspace = keyspace
        self.networks = networks or ModuleNetworks()
        self._redis = redis
        self._poll_seconds = poll_seconds
        self._modules: dict[str, ModuleView] = {}
        self._actions: dict[str, ActionRoute] = {}
        self._commands: dict[str, CommandRoute] = {}
        self._version: int | None = None
        self._reload_lock = asyncio.Lock()
        self._breaker_handlers: list[MessageHandler] = []
        self._hearing_handlers: list[Callable[[bool], None]] = []
        self._back_handlers: list[InstanceHandler] = []

    # -- hot path -------------------------------------------------------------------------
    # A module serves only the communities of the keys its instances registered with (SPEC
    # §3). Every question that leads to a module's traffic (action calls, commands, events,
    # proxied requests) names the community and is answered here, in one place.

    def action(self, action_id: str, community: str) -> ActionRoute | None:
        """The route of ``action_id`` when its module serves ``community``."""
        route = self._actions.get(action_id)
        return route if route is not None and self._serves(route.module_id, community) else None

    def command(self, name: str, community: str) -> CommandRoute | None:
        """The chat command ``name`` when its module serves ``community``."""
        route = self._commands.get(name.lower())
        return route if route is not None and self._serves(route.module_id, community) else None

    def module_for(self, module_id: str, community: str) -> ModuleView | None:
        """``module_id`` when it serves ``community`` (what the proxy by name may reach)."""
        return self._modules.get(module_id) if self._serves(module_id, community) else None

    def instances_for(self, module_id: str, community: str) -> list[InstanceView]:
        """Healthy, leased instances of ``module_id`` registered for ``community``."""
        module = self._modules.get(module_id)
        return module.instances_for(community) if module is not None else []

    def _serves(self, module_id: str, community: str) -> bool:
        # A module with no instance left serves no one: its calls get 503, not 404, as before.
        module = self._modules.get(module_id)
        return module is not None and (not module.instances or module.serves(community))

    def module(self, module_id: str) -> ModuleView | None:
        return self._modules.get(module_id)

    def modules(self) -> list[ModuleView]:
        return list(self._modules.values())

    def instances(self) -> Iterable[InstanceView]:
        for module in self._modules.values():
            yield from module.instances

    async def subscribers(self, event_type: str, community: str) -> list[ModuleView]:
        """Modules serving ``community`` that subscribed to ``event_type`` (or to ``*``)."""
        # A module with no instance left still subscribes, so it gets what it missed when it
        # is back; delivery then reaches only instances registered for the community.
        return [
            m
            for m in self._modules.values()
            if m.subscribes_to(event_type) and self._serves(m.module_id, community)
        ]

    def on_breaker_message(self, handler: MessageHandler) -> None:
        self._breaker_handlers.append(handler)

    def on_breaker_hearing(self, handler: Callable[[bool], None]) -> None:
        """``handler(True)`` each time the breaker channel is confirmed (re)subscribed,
        ``handler(False)`` when the subscription ends."""
        self._hearing_handlers.append(handler)

    def on_instance_back(self, handler: InstanceHandler) -> None:
        """``handler("{module_id}/{instance_id}")`` when an instance registers again or its
        health check passes again after it was found down."""
        self._back_handlers.append(handler)

    # -- refresh --------------------------------------------------------------------------

    async def start(self, tasks: BackgroundTasks) -> None:
        await self.reload()
        tasks.spawn("registry.listen", self._listen())
        tasks.spawn("registry.poll", self._poll())

    async def reload(self) -> None:
        """Rebuild the snapshot from PostgreSQL, then apply the shared leases and health."""
        async with self._reload_lock:
            version = await self._shared_version()
            modules = await self.store.load()
            self._install(modules)
            self._version = version
        await self._apply_shared_state()

    def _install(self, modules: list[ModuleView]) -> None:
        actions: dict[str, ActionRoute] = {}
        commands: dict[str, CommandRoute] = {}
        for module in modules:
            for action in module.actions:
                actions[action["id"]] = ActionRoute(
                    action["id"], module.module_id, action["path"], int(action["timeout_ms"])
                )
            for command in module.commands:
                commands[command["name"]] = CommandRoute(
                    command["name"], command["action"], module.module_id
                )
        self._modules = {module.module_id: module for module in modules}
        self._actions, self._commands = actions, commands

    async def _shared_version(self) -> int | None:
        try:
            raw = await self._redis.get(self.keyspace.registry_version)
        except (RedisError, OSError):
            return None
        return int(raw) if raw is not None else 0

    async def _apply_shared_state(self) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.hgetall(self.keyspace.registry_leases)
                pipe.hgetall(self.keyspace.registry_health)
                leases, health = await pipe.execute()
        except (RedisError, OSError):
            return
        lease_at = {reply_text(k): float(v) for k, v in leases.items()}
        down = {reply_text(k) for k, v in health.items() if reply_text(v) == "down"}
        for instance in self.instances():
            name = instance.breaker_name
            if name in lease_at:
                moment = datetime.fromtimestamp(lease_at[name], UTC)
                instance.lease_expires_at = max(instance.lease_expires_at, moment)
            instance.healthy = name not in down

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_seconds)
            version = await self._shared_version()
            # Without Redis, leases renewed through other workers are only in PostgreSQL.
            if version is None or version != self._version:
                await self._reload_logged()
            else:
                await self._apply_shared_state()

    async def _reload_logged(self) -> None:
        try:
            await self.reload()
        except Exception as error:  # keep serving from the last snapshot
            _log.warning("registry reload failed: %r", error, extra={"event_type": "ERROR"})

    async def _listen(self) -> None:
        while True:
            try:
                await self._listen_once()
            except (RedisError, OSError) as error:
                _log.warning(
                    "registry listener lost Redis: %r", error, extra={"event_type": "SYSTEM"}
                )
                await asyncio.sleep(1.0)

    async def _listen_once(self) -> None:
        # Subscription confirmations are read too: the breakers trust what they hear only
        # from the moment Redis confirms the channel, which the client also re-subscribes by
        # itself after a reconnection.
        pubsub = self._redis.pubsub(ignore_subscribe_messages=False)
        try:
            await pubsub.subscribe(self.keyspace.registry_channel, self.keyspace.breaker_channel)
            await self._reload_logged()  # whatever changed while we were not listening
            async for message in pubsub.listen():
                channel = reply_text(message["channel"])
                if message["type"] == "message":
                    await self._handle(channel, message["data"])
                elif message["type"] == "subscribe" and channel == self.keyspace.breaker_channel:
                    self._hear_breakers(True)
        finally:
            self._hear_breakers(False)
            await pubsub.aclose()

    def _hear_breakers(self, subscribed: bool) -> None:
        for handler in self._hearing_handlers:
            handler(subscribed)

    async def _handle(self, channel: str, data: Any) -> None:
        try:
            body = json.loads(data)
        except (TypeError, ValueError):
            return
        if channel == self.keyspace.breaker_channel:
            for handler in self._breaker_handlers:
                handler(body)
        elif body.get("kind") == "registry" and body.get("version") != self._version:
            await self._reload_logged()
        elif body.get("kind") == "health":
            await self._apply_shared_state()

    # -- announcing changes ---------------------------------------------------------------

    async def changed(self) -> None:
        """Announce a registry change to every worker, then reload this one."""
        try:
            version = await self._redis.incr(self.keyspace.registry_version)
            await self._redis.publish(
                self.keyspace.registry_channel,
                json.dumps({"kind": "registry", "version": version}),
            )
        except (RedisError, OSError) as error:
            _log.warning("registry change not announced: %r", error, extra={"event_type": "ERROR"})
        await self.reload()

    async def restore_shared_state(self) -> None:
        """Write back from PostgreSQL what a Redis that lost its data held for the registry.

        The instances' leases return from their rows; health verdicts start over (healthy until
        the prober says otherwise). The version becomes one no worker can have seen (the clock
        in milliseconds, far above any count of changes), announced so that every worker
        reloads at once.
        """
        await self.reload()
        leases: dict[Any, Any] = {
            i.breaker_name: str(i.lease_expires_at.timestamp()) for i in self.instances()
        }
        version = time.time_ns() // 1_000_000
        async with self._redis.pipeline(transaction=True) as pipe:  # one slot: {registry}
            if leases:
                pipe.hset(self.keyspace.registry_leases, mapping=leases)
            pipe.set(self.keyspace.registry_version, version)
            await pipe.execute()
        message = json.dumps({"kind": "registry", "version": version})
        await self._redis.publish(self.keyspace.registry_channel, message)
        await self.reload()

    async def lease_renewed(self, module_id: str, instance_id: str, expires: datetime) -> None:
        name = f"{module_id}/{instance_id}"
        # If Redis is away, PostgreSQL still holds the lease; other workers see it on reload.
        with contextlib.suppress(RedisError, OSError):
            await self._redis.hset(self.keyspace.registry_leases, name, str(expires.timestamp()))
        for instance in self.instances():
            if instance.breaker_name == name:
                instance.lease_expires_at = max(instance.lease_expires_at, expires)

    def renewal_without_database(self, module_id: str, instance_id: str) -> datetime | None:
        """The new end of a lease the snapshot holds live, for a heartbeat while PostgreSQL is
        out of reach (None: unknown instance or ended lease). The lease is then renewed in
        Redis alone; PostgreSQL catches up with a heartbeat after it returns, or, when its
        lease ran out meanwhile, that heartbeat gets 404 and the module registers again."""
        now = datetime.now(UTC)
        name = f"{module_id}/{instance_id}"
        for instance in self.instances():
            if instance.breaker_name == name and instance.lease_expires_at > now:
                return now + timedelta(seconds=self.store.lease_ttl_seconds)
        return None

    async def instance_registered(self, module_id: str, instance_id: str) -> None:
        """A (re-)registered instance starts healthy: it has just shown it is alive."""
        name = f"{module_id}/{instance_id}"
        await self._forget_shared(name, self.keyspace.registry_health_failures(name))
        await self.instance_back(name)

    async def instance_back(self, name: str) -> None:
        """The instance ``name`` has just shown it is alive: tell whoever keeps its state."""
        for handler in self._back_handlers:
            await handler(name)

    async def instance_removed(self, module_id: str, instance_id: str) -> None:
        await self._forget_shared(f"{module_id}/{instance_id}")

    async def _forget_shared(self, name: str, *keys: str) -> None:
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hdel(self.keyspace.registry_health, name)
                pipe.hdel(self.keyspace.registry_leases, name)
                for key in keys:
                    pipe.delete(key)
                await pipe.execute()
        except (RedisError, OSError) as error:  # PostgreSQL holds the record; keep serving
            _log.warning(
                "registry state not cleared in Redis: %r", error, extra={"event_type": "ERROR"}
            )
