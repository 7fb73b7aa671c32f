"""Every Redis key and pub/sub channel name, built in one place.

Router keys live under ``rh:``; channel names are the contract's (``events.{community}.{type}``,
``responses.{community}.{platform}``, ``system.breaker``, ``registry.changed``,
``keys.invalidate``). A namespace, when set, prefixes every key (``{ns}:…``) and every channel
(``{ns}.…``) so several hubs can share one Redis; unset, names are exactly the contract's.
Each per-community key carries the community as a part of its own, so it can later become a
cluster hash tag without changing callers.
"""

from __future__ import annotations

from dataclasses import dataclass

ROUTER = "rh"


@dataclass(frozen=True, slots=True)
class Keyspace:
    """Names for one hub's keys and channels (``namespace`` None: the contract's names)."""

    namespace: str | None = None

    def key(self, *parts: str) -> str:
        """A key: ``[ns:]part:part…``."""
        return ":".join(self._prefixed(parts))

    def channel(self, *parts: str) -> str:
        """A pub/sub channel: ``[ns.]part.part…``."""
        return ".".join(self._prefixed(parts))

    def _prefixed(self, parts: tuple[str, ...]) -> tuple[str, ...]:
        return (self.namespace, *parts) if self.namespace else parts

    # Channels (the contract's names).

    def event_channel(self, community: str, event_type: str) -> str:
        return self.channel("events", community, event_type)

    def response_channel(self, community: str, platform: str) -> str:
        return self.channel("responses", community, platform)

    @property
    def breaker_channel(self) -> str:
        return self.channel("system", "breaker")

    @property
    def registry_channel(self) -> str:
        return self.channel("registry", "changed")

    @property
    def keys_invalidate_channel(self) -> str:
        return self.channel("keys", "invalidate")

    # Router keys, all under ``rh:``.

    def router(self, *parts: str) -> str:
        return self.key(ROUTER, *parts)

    def event_seen(self, community: str, event_id: str) -> str:
        return self.router("events", "seen", community, event_id)

    def event_stream(self, community: str) -> str:
        """One durable stream per community keeps order per community."""
        return self.router("events", "stream", community)

    def event_dead(self, community: str) -> str:
        return self.router("events", "dead", community)

    @property
    def event_groups(self) -> str:
        """Set of ``module|community``: every consumer group that exists."""
        return self.router("events", "groups")

    def event_lease(self, module_id: str) -> str:
        return self.router("events", "lease", module_id)

    @property
    def registry_version(self) -> str:
        return self.router("registry", "version")

    @property
    def registry_leases(self) -> str:
        return self.router("registry", "leases")

    @property
    def registry_health(self) -> str:
        return self.router("registry", "health")

    def registry_health_lock(self, instance: str) -> str:
        return self.router("registry", "health", "lock", instance)

    def registry_health_failures(self, instance: str) -> str:
        return self.router("registry", "health", "failures", instance)

    @property
    def registry_reap_lock(self) -> str:
        return self.router("registry", "reap", "lock")

    @property
    def breaker_prefix(self) -> str:
        """What the breaker store puts before a breaker's name."""
        return self.router("breaker") + ":"

    @property
    def ratelimit_prefix(self) -> str:
        """What the rate limiter puts before a quota's name."""
        return self.router("ratelimit") + ":"

    # Module keys.

    def webhook_seen(self, platform: str) -> str:
        """Prefix of a platform's accepted webhook message ids (``twitch:seen``)."""
        return self.key(platform, "seen")


DEFAULT_KEYSPACE = Keyspace()
