"""The router's settings, read once from the environment (SPEC §1)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flask_core.breaker import BreakerPolicy
from flask_core.keyspace import Keyspace
from flask_core.redis_client import STANDALONE, RedisTopology, namespace_setting, redis_db
from flask_core.settings import EnvReader

from .events.settings import EventSettings
from .registry.networks import Network, parse_networks


@dataclass(frozen=True)
class RouterSettings:
    database_url: str | None = None
    redis_url: str | None = None
    redis_topology: RedisTopology = STANDALONE
    namespace: str | None = None
    data_dir: Path = Path("./.data")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    bootstrap_admin_key: str | None = field(default=None, repr=False)
    bootstrap_keys_file: Path | None = None
    signing_key_file: Path | None = None
    log_level: str = "INFO"
    log_format: str = "json"
    rate_limit_key: str = "600/minute"
    rate_limit_community: str = "6000/minute"
    rate_limit_user: str = "60/minute"
    rate_limit_anonymous: str = "120/minute"
    # Empty: a module may live anywhere (SPEC §1, ROUTER_MODULE_NETWORKS).
    module_networks: tuple[Network, ...] = ()
    # The window repeated AUTH failures are folded in (SPEC §10: a minute); tests shorten it.
    auth_fold_seconds: int = 60
    lease_ttl_seconds: int = 30
    health_interval_seconds: int = 10
    health_timeout_seconds: float = 2.0
    health_failures_to_down: int = 3
    proxy_timeout_ms: int = 5000  # the budget of one call through /api/v1/services/...
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    events: EventSettings = field(default_factory=EventSettings)

    @property
    def keyspace(self) -> Keyspace:
        """This hub's Redis names: ``HUB_NAMESPACE`` and the database number qualify them."""
        db = redis_db(self.redis_url) if self.redis_url else 0
        return Keyspace(self.namespace, db)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RouterSettings:
        env = EnvReader(environ)
        signing_key = env.optional("ROUTER_SIGNING_KEY_FILE")
        bootstrap_keys = env.optional("ROUTER_BOOTSTRAP_KEYS_FILE")
        topology = RedisTopology.from_env(environ)
        return cls(
            database_url=env.url("DATABASE_URL", ("postgresql", "postgres")),
            redis_url=topology.resolve_url(env.url("REDIS_URL", ("redis", "rediss", "unix"))),
            redis_topology=topology,
            namespace=namespace_setting(env),
            data_dir=Path(env.text("ROUTER_DATA_DIR", "./.data")),
            host=env.text("ROUTER_HOST", "127.0.0.1"),
            port=env.integer("ROUTER_PORT", 8000, minimum=0, maximum=65535),
            workers=env.integer("ROUTER_WORKERS", 1, minimum=1, maximum=64),
            bootstrap_admin_key=env.optional("ROUTER_BOOTSTRAP_ADMIN_KEY"),
            bootstrap_keys_file=Path(bootstrap_keys) if bootstrap_keys else None,
            signing_key_file=Path(signing_key) if signing_key else None,
            log_level=env.log_level(),
            log_format=env.log_format(),
            rate_limit_key=env.rate("ROUTER_RATE_LIMIT_KEY", "600/minute"),
            rate_limit_community=env.rate("ROUTER_RATE_LIMIT_COMMUNITY", "6000/minute"),
            rate_limit_user=env.rate("ROUTER_RATE_LIMIT_USER", "60/minute"),
            rate_limit_anonymous=env.rate("ROUTER_RATE_LIMIT_ANONYMOUS", "120/minute"),
            module_networks=env.convert("ROUTER_MODULE_NETWORKS", (), parse_networks),
            lease_ttl_seconds=env.integer("ROUTER_LEASE_TTL_SECONDS", 30, minimum=1, maximum=86400),
            health_interval_seconds=env.integer(
                "ROUTER_HEALTH_INTERVAL_SECONDS", 10, minimum=1, maximum=3600
            ),
            proxy_timeout_ms=env.integer("ROUTER_PROXY_TIMEOUT_MS", 5000, minimum=1, maximum=60000),
            events=EventSettings.from_env(environ),
        )
