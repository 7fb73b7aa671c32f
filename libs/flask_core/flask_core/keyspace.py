"""Every Redis key and pub/sub channel name, built in one place.

Router keys live under ``rh:``; channel names are the contract's (``events.{community}.{type}``,
``responses.{community}.{platform}``, ``system.breaker``, ``registry.changed``,
``keys.invalidate``). A namespace, when set, prefixes every key (``{ns}:…``) and every channel
(``{ns}.…``) so several hubs can share one Redis; unset, names are exactly the contract's.
Each per-community key carries the community as a part of its own, so it can later become a
cluster hash tag without changing callers.
"""

from __future__ import annotations

ROUTER = "rh"


class Keyspace:
    """Names for one hub's keys and channels (``namespace`` None: the contract's names).

    Fixed names are plain attributes, built once; names with a variable part are methods.
    """

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace
        # Channels (the contract's names).
        self.breaker_channel = self.channel("system", "breaker")
        self.registry_channel = self.channel("registry", "changed")
        self.keys_invalidate_channel = self.channel("keys", "invalidate")
        # Router keys.
        self.event_groups = self.router("events", "groups")  # every "module|community" group
        self.registry_version = self.router("registry", "version")
        self.registry_leases = self.router("registry", "leases")
        self.registry_health = self.router("registry", "health")
        self.registry_reap_lock = self.router("registry", "reap", "lock")
        # What the breaker store and the rate limiter put before a breaker's or quota's name.
        self.breaker_prefix = self.router("breaker") + ":"
        self.ratelimit_prefix = self.router("ratelimit") + ":"

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

    def event_lease(self, module_id: str) -> str:
        return self.router("events", "lease", module_id)

    def registry_health_lock(self, instance: str) -> str:
        return self.router("registry", "health", "lock", instance)

    def registry_health_failures(self, instance: str) -> str:
        return self.router("registry", "health", "failures", instance)

    def auth_failures(self, window: int, address: str, prefix: str) -> str:
        """Counter of AUTH failures of one client address and key prefix in one window."""
        return self.router("audit", "authfail", str(window), address, prefix)

    def auth_failures_open(self, window: int) -> str:
        """Set of ``address|prefix`` pairs with a failure counter in ``window``."""
        return self.router("audit", "authfail", str(window), "open")

    # Module keys.

    def webhook_seen(self, platform: str) -> str:
        """Prefix of a platform's accepted webhook message ids (``twitch:seen``)."""
        return self.key(platform, "seen")

    def token_id(self, audience: str, jti: str) -> str:
        """A router token a module accepted (``jti:{aud}:{jti}``), kept until it expires."""
        return self.key("jti", audience, jti)


DEFAULT_KEYSPACE = Keyspace()
