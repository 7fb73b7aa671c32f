"""What the registry knows: modules, their instances, and the routes they claim."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ActionRoute:
    """Where an action id goes: its module, the path on an instance, its time budget."""

    action_id: str
    module_id: str
    path: str
    timeout_ms: int


@dataclass(frozen=True, slots=True)
class CommandRoute:
    """A chat command (``!quote``) and the action it runs."""

    name: str
    action_id: str
    module_id: str


@dataclass(slots=True)
class InstanceView:
    """One running copy of a module; lease and health change in place between reloads."""

    module_id: str
    instance_id: str
    base_url: str
    health_check: str
    lease_expires_at: datetime
    # The key that registered the instance and its community scope: the instance serves only
    # those communities (SPEC §3).
    owner_key_id: str | None = None
    communities: tuple[str, ...] = ()
    healthy: bool = True

    def serves(self, community: str) -> bool:
        return "*" in self.communities or community in self.communities

    @property
    def breaker_name(self) -> str:
        return f"{self.module_id}/{self.instance_id}"

    @property
    def leased(self) -> bool:
        return self.lease_expires_at.timestamp() > time.time()

    @property
    def available(self) -> bool:
        return self.healthy and self.leased


@dataclass(frozen=True, slots=True)
class ModuleView:
    """A registered module as the hot path sees it."""

    module_id: str
    module_version: str
    module_type: str
    endpoints: tuple[str, ...]
    actions: tuple[dict[str, Any], ...]
    commands: tuple[dict[str, Any], ...]
    subscriptions: tuple[str, ...]
    instances: tuple[InstanceView, ...] = field(default=())

    def available_instances(self) -> list[InstanceView]:
        return [instance for instance in self.instances if instance.available]

    def instances_for(self, community: str) -> list[InstanceView]:
        """Available instances registered with a key whose scope covers ``community``."""
        return [i for i in self.instances if i.available and i.serves(community)]

    def serves(self, community: str) -> bool:
        """Whether any instance, up or down, was registered for ``community``."""
        return any(instance.serves(community) for instance in self.instances)

    @property
    def status(self) -> str:
        up = len(self.available_instances())
        if up and up == len(self.instances):
            return "healthy"
        return "degraded" if up else "unavailable"

    def subscribes_to(self, event_type: str) -> bool:
        return event_type in self.subscriptions or "*" in self.subscriptions


@dataclass(frozen=True, slots=True)
class Registration:
    """A validated ``POST /api/v1/register`` body, with the base URL resolved."""

    module_id: str
    module_version: str
    module_type: str
    base_url: str
    health_check: str
    instance_id: str
    endpoints: tuple[str, ...]
    actions: tuple[dict[str, Any], ...]
    commands: tuple[dict[str, Any], ...]
    subscriptions: tuple[str, ...]
    owner_key_id: str | None = None
    communities: tuple[str, ...] = ()
