"""The registry as events see it: subscribers by type, a reachable instance per module, and the
command table, all read from the registry's in-memory snapshot."""

from __future__ import annotations

import itertools

from ..registry.live import Registry
from ..registry.models import CommandRoute


class RegistryView:
    """Adapts the live registry to what ingest, delivery and command routing ask of it."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._turn = itertools.count()

    async def subscribers(self, event_type: str, community: str) -> list[str]:
        # Every registered subscriber, up or down: a module that is down still gets a consumer
        # group entry, and receives the event when it is back.
        modules = await self._registry.subscribers(event_type, community)
        return [module.module_id for module in modules]

    async def endpoint(self, module_id: str, community: str) -> str | None:
        instances = self._registry.instances_for(module_id, community)
        if not instances:
            return None
        return instances[next(self._turn) % len(instances)].base_url

    def command(self, name: str, community: str) -> CommandRoute | None:
        return self._registry.command(name, community)
