"""The one way every service opens Redis (redis.asyncio): standalone, cluster or Sentinel.

``REDIS_MODE`` picks the shape: ``standalone`` (``REDIS_URL``), ``cluster`` (``REDIS_URL`` names
any node; the client discovers the others and routes each command to its slot's master) or
``sentinel`` (``REDIS_SENTINELS=host:port,…`` and ``REDIS_SENTINEL_MASTER``; the client asks the
Sentinels for the master and follows a failover). Every key a script or MULTI touches carries
the same hash tag (``flask_core/keyspace.py``), so the same code runs on all three.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.exceptions import (
    ClusterDownError,
    ReadOnlyError,
    RedisClusterException,
    RedisError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .errors import StoreFault
from .keyspace import NAMESPACE
from .logging import get_logger
from .settings import EnvReader, SettingsError

_log = get_logger("flask_core.redis")

MODES = ("standalone", "cluster", "sentinel")

# "Redis is not there right now" (down, restarting, failing over, resharding): callers fall
# back to per-process state or the spool and try again later.
OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    RedisConnectionError,  # also MaxConnectionsError, BusyLoadingError
    RedisTimeoutError,
    ClusterDownError,  # also MasterDownError
    TryAgainError,
    SlotNotCoveredError,
    ReadOnlyError,  # a master that became a replica in a failover
    ConnectionError,
    OSError,
    TimeoutError,
)
# Everything a Redis call raises. What is not an outage (CROSSSLOT, WRONGTYPE, OOM, MOVED left
# unhandled, NOSCRIPT after retries) is a fault: never hidden behind a fallback.
STORE_ERRORS: tuple[type[Exception], ...] = (RedisError, RedisClusterException, *OUTAGE_ERRORS)


def is_outage(error: BaseException) -> bool:
    return isinstance(error, OUTAGE_ERRORS)


def store_fault(error: BaseException, during: str) -> StoreFault:
    """The 503 for a Redis fault, its cause logged at ERROR (the reply text names no secret)."""
    _log.error(
        "Redis refused %s: %s: %s",
        during,
        type(error).__name__,
        str(error)[:300],
        extra={"event_type": "ERROR"},
    )
    return StoreFault()


URL_SCHEMES = ("redis", "rediss", "unix")


@dataclass(frozen=True, slots=True)
class RedisTopology:
    """How Redis is deployed: the mode and, for Sentinel, where the Sentinels are."""

    mode: str = "standalone"
    sentinels: tuple[tuple[str, int], ...] = ()
    master: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RedisTopology:
        """``REDIS_MODE`` and, in Sentinel mode, ``REDIS_SENTINELS`` / ``REDIS_SENTINEL_MASTER``."""
        env = EnvReader(environ)
        mode = env.choice("REDIS_MODE", "standalone", MODES)
        if mode == "cluster":
            url = env.raw("REDIS_URL")
            if url is None or urlsplit(url).scheme not in ("redis", "rediss"):
                raise SettingsError("REDIS_URL must name a cluster node (redis://host:port)")
            if redis_db(url) != 0:
                raise SettingsError("REDIS_URL must use database 0 when REDIS_MODE=cluster")
        if mode != "sentinel":
            return cls(mode)
        none: tuple[tuple[str, int], ...] = ()
        sentinels = env.convert("REDIS_SENTINELS", none, parse_sentinels)
        if not sentinels:
            raise SettingsError("REDIS_SENTINELS is required when REDIS_MODE=sentinel")
        return cls(mode, sentinels, env.required("REDIS_SENTINEL_MASTER"))

    def environment(self) -> dict[str, str]:
        """The variables that select this topology, for a child process."""
        env = {"REDIS_MODE": self.mode}
        if self.mode == "sentinel":
            env["REDIS_SENTINELS"] = ",".join(f"{host}:{port}" for host, port in self.sentinels)
            env["REDIS_SENTINEL_MASTER"] = str(self.master)
        return env

    def resolve_url(self, url: str | None) -> str | None:
        """Behind Sentinel the URL only carries credentials and the db; unset means db 0."""
        if self.mode == "sentinel" and url is None:
            return f"redis://{self.master}/0"
        return url


STANDALONE = RedisTopology()


def namespace_setting(env: EnvReader) -> str | None:
    """``HUB_NAMESPACE``: letters, digits, ``_`` and ``-`` (it becomes part of every name)."""
    namespace = env.optional("HUB_NAMESPACE")
    if namespace is not None and not NAMESPACE.fullmatch(namespace):
        raise SettingsError(f"HUB_NAMESPACE={namespace!r} is invalid: letters, digits, _ and -")
    return namespace


def parse_sentinels(text: str) -> tuple[tuple[str, int], ...]:
    """``"a:26379,b:26379"`` → ((a, 26379), (b, 26379)); ValueError when malformed."""
    nodes = []
    for item in text.split(","):
        host, sep, port = item.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{item.strip()!r} is not host:port")
        nodes.append((host, int(port)))
    return tuple(nodes)


def redis_db(url: str) -> int:
    """The database number a ``redis://…/N`` or ``unix://…?db=N`` URL selects (0 by default)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query).get("db")
    if query:
        return int(query[0])
    path = parts.path.strip("/") if parts.scheme != "unix" else ""
    return int(path) if path.isdigit() else 0


def _connection_options() -> dict[str, Any]:
    return {
        "socket_timeout": 5,
        "socket_connect_timeout": 2,
        "health_check_interval": 15,
        # A restarted server (or a failed-over master) drops every connection: retry on a
        # fresh one.
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }


def create_redis(
    url: str, *, topology: RedisTopology = STANDALONE, max_connections: int = 64
) -> aioredis.Redis:
    """A pooled client in the topology's shape; callers wait for a free connection."""
    if topology.mode == "cluster":
        return _cluster(url, max_connections)
    if topology.mode == "sentinel":
        return _sentinel(url, topology, max_connections)
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=5, **_connection_options()
    )
    return aioredis.Redis(connection_pool=pool)


def _cluster(url: str, max_connections: int) -> aioredis.Redis:
    options = _connection_options()
    # The cluster client retries and re-reads the slot map itself on connection errors.
    for own in ("health_check_interval", "retry", "retry_on_error"):
        options.pop(own)
    client = RedisCluster.from_url(url, max_connections=max_connections, **options)
    # RedisCluster serves every command we use (scripts, MULTI and pipelines routed by their
    # one slot, pub/sub); it is typed as Redis so one annotation serves every mode.
    return cast(aioredis.Redis, client)


def _sentinel(url: str, topology: RedisTopology, max_connections: int) -> aioredis.Redis:
    parts = urlsplit(url)
    sentinel = Sentinel(
        list(topology.sentinels),
        sentinel_kwargs={"socket_timeout": 2, "socket_connect_timeout": 2},
        **_connection_options(),
    )
    return sentinel.master_for(
        str(topology.master),
        db=redis_db(url),
        username=parts.username,
        password=parts.password,
        max_connections=max_connections,
    )


async def prepare(client: aioredis.Redis) -> None:
    """Read a cluster's slot map before the first commands run side by side.

    Left to the first command, each concurrent caller would race the cluster client's lazy
    initialisation, which replaces the node objects (and their connections) under the callers.
    Redis being down here is not an error: the client initialises on its next command.
    """
    if isinstance(client, RedisCluster):
        with contextlib.suppress(RedisError, OSError):
            await client.initialize()


def is_cluster(client: object) -> bool:
    """Commands on several keys must then stay within one hash slot each."""
    return isinstance(client, RedisCluster)


async def redis_ping(client: aioredis.Redis) -> bool:
    try:
        return bool(await client.ping())
    except (RedisError, OSError, TimeoutError):
        return False


def reply_text(value: Any) -> str:
    """A Redis reply as text (clients made here answer bytes, ``decode_responses`` ones str)."""
    return value.decode() if isinstance(value, bytes) else str(value)
