"""Every Redis key and pub/sub channel name, built in one place.

Router keys live under ``rh:``; channel names are the contract's (``events.{community}.{type}``,
``responses.{community}.{platform}``, ``system.breaker``, ``registry.changed``,
``keys.invalidate``). A namespace, when set, prefixes every key (``{ns}:…``) and every channel
(``{ns}.…``) so several hubs can share one Redis; unset, names are exactly the contract's.
Keys are designed for Redis Cluster: every key one script or MULTI touches carries the same
hash tag (the part in braces picks the slot), so each atomic step runs on one slot:

- per community ``{c:<community>}``: dedupe ids, the stream, its dead letters and the set of
  modules with a group on it (event accept, delivery's dead-lettering and replay);
- per module ``{m:<module>}``: its delivery lease;
- the registry ``{registry}``: version, leases, health verdicts and their failure counters and
  locks (the verdict script and the forget MULTI touch several of them);
- the last known keys ``{keys}``: records, their end times and the "complete" marker (one
  read answers a key while PostgreSQL is away);
- per breaker ``{b:<name>}`` (its hash and its window) and per quota owner in the rate limiter
  (``{k:<key id>}`` for a key's quotas, ``{c:<community>}`` for a community's and its users').

Pub/sub channels ignore the database number, so two hubs on one server with different databases
would hear each other: the router's internal channels (``system.breaker``, ``registry.changed``,
``keys.invalidate``) get a ``db<N>.`` qualifier when the database is not 0. With database 0 and
no namespace, every name is exactly the contract's.
"""

from __future__ import annotations

import re

ROUTER = "rh"
REGISTRY_TAG = "{registry}"
KEYS_TAG = "{keys}"
NAMESPACE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def tag(kind: str, value: str) -> str:
    """A hash tag: Redis Cluster hashes only what is inside the first braces of a key."""
    return "{" + kind + ":" + value + "}"


def community_tag(community: str) -> str:
    return tag("c", community)


class Keyspace:
    """Names for one hub's keys and channels (``namespace`` None: the contract's names).

    Fixed names are plain attributes, built once; names with a variable part are methods.
    """

    def __init__(self, namespace: str | None = None, db: int = 0) -> None:
        if namespace is not None and not NAMESPACE.fullmatch(namespace):
            raise ValueError("a namespace is letters, digits, '_' and '-' (at most 64)")
        self.namespace = namespace
        self.db = db
        # Internal channels: the contract's names, qualified by a database other than 0.
        self.breaker_channel = self.internal_channel("system", "breaker")
        self.registry_channel = self.internal_channel("registry", "changed")
        self.keys_invalidate_channel = self.internal_channel("keys", "invalidate")
        # Router keys.
        self.event_groups = self.router("events", "groups")  # every "module|community" group
        self.registry_version = self.router(REGISTRY_TAG, "version")
        self.registry_leases = self.router(REGISTRY_TAG, "leases")
        self.registry_health = self.router(REGISTRY_TAG, "health")
        self.registry_reap_lock = self.router(REGISTRY_TAG, "reap", "lock")
        # Taken by the one process that recreates what a Redis that lost its data held.
        self.redis_epoch_lock = self.router("epoch", "lock")
        # The last known keys: records by prefix, end times by prefix, the "complete" marker.
        self.keys_known = self.router("keys", KEYS_TAG, "known")
        self.keys_ends = self.router("keys", KEYS_TAG, "ends")
        self.keys_complete = self.router("keys", KEYS_TAG, "complete")
        self.keys_sync_lock = self.router("keys", KEYS_TAG, "sync", "lock")
        # What the breaker store and the rate limiter put before a breaker's or quota's name.
        self.breaker_prefix = self.router("breaker") + ":"
        self.ratelimit_prefix = self.router("ratelimit") + ":"

    def key(self, *parts: str) -> str:
        """A key: ``[ns:]part:part…``."""
        return ":".join(self._prefixed(parts))

    def channel(self, *parts: str) -> str:
        """A pub/sub channel: ``[ns.]part.part…``."""
        return ".".join(self._prefixed(parts))

    def internal_channel(self, *parts: str) -> str:
        """A channel only our own processes use: ``[ns.][db<N>.]part.part…``."""
        qualifier = (f"db{self.db}",) if self.db else ()
        return self.channel(*qualifier, *parts)

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
        return self.router("events", "seen", community_tag(community), event_id)

    def event_stream(self, community: str) -> str:
        """One durable stream per community keeps order per community."""
        return self.router("events", "stream", community_tag(community))

    def event_dead(self, community: str) -> str:
        return self.router("events", "dead", community_tag(community))

    def event_community_groups(self, community: str) -> str:
        """The modules with a consumer group on this community's stream (in its slot)."""
        return self.router("events", "groups", community_tag(community))

    def event_lease(self, module_id: str) -> str:
        return self.router("events", "lease", tag("m", module_id))

    def registry_health_lock(self, instance: str) -> str:
        return self.router(REGISTRY_TAG, "health", "lock", instance)

    def registry_health_failures(self, instance: str) -> str:
        return self.router(REGISTRY_TAG, "health", "failures", instance)

    def redis_epoch_marker(self, slot_tag: str) -> str:
        """A marker of the Redis data's epoch, in the slot ``{e:<slot_tag>}`` hashes to (on a
        cluster one marker per slot range, so every master holds some)."""
        return self.router("epoch", tag("e", slot_tag))

    def auth_failures(self, window: int, address: str, prefix: str) -> str:
        """Counter of AUTH failures of one client address and key prefix in one window.

        Tagged by the window, like the window's set, so one script counts both in one slot.
        """
        return self.router("audit", "authfail", tag("w", str(window)), address, prefix)

    def auth_failures_open(self, window: int) -> str:
        """Set of ``address|prefix`` pairs with a failure counter in ``window``."""
        return self.router("audit", "authfail", tag("w", str(window)), "open")

    # Module keys.

    def webhook_seen(self, platform: str) -> str:
        """Prefix of a platform's accepted webhook message ids (``twitch:seen``)."""
        return self.key(platform, "seen")

    def token_id(self, audience: str, jti: str) -> str:
        """A router token a module accepted (``jti:{aud}:{jti}``), kept until it expires."""
        return self.key("jti", audience, jti)


DEFAULT_KEYSPACE = Keyspace()
