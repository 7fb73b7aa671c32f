"""What every module reads from the environment: its name, port, router and Redis."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..keyspace import Keyspace
from ..redis_client import STANDALONE, URL_SCHEMES, RedisTopology, namespace_setting, redis_db
from ..settings import EnvReader


@dataclass(frozen=True)
class ModuleSettings:
    """What every module reads from the environment (SPEC §1)."""

    name: str
    version: str
    port: int
    router_url: str
    router_api_key: str
    host: str = "127.0.0.1"
    base_url: str | None = None
    instance_id: str | None = None
    log_level: str = "INFO"
    log_format: str = "json"
    drain_seconds: float = 10.0
    redis_url: str | None = None
    redis_topology: RedisTopology = STANDALONE
    namespace: str | None = None

    @property
    def keyspace(self) -> Keyspace:
        """The names of this hub's Redis keys (``HUB_NAMESPACE`` prefixes them)."""
        return Keyspace(self.namespace, redis_db(self.redis_url) if self.redis_url else 0)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str], *, default_name: str, default_port: int, version: str
    ) -> ModuleSettings:
        env = EnvReader(environ)
        topology = RedisTopology.from_env(environ)
        router_url = env.url("ROUTER_URL", ("http", "https"))
        if router_url is None:
            env.required("ROUTER_URL")  # raises, naming the variable
        return cls(
            name=env.text("MODULE_NAME", default_name),
            version=env.text("MODULE_VERSION", version),
            port=env.integer("MODULE_PORT", default_port, minimum=1, maximum=65535),
            router_url=str(router_url),
            router_api_key=env.secret("ROUTER_API_KEY"),
            host=env.text("MODULE_HOST", "127.0.0.1"),
            base_url=env.optional("MODULE_BASE_URL"),
            instance_id=env.optional("MODULE_INSTANCE_ID"),
            log_level=env.log_level(),
            log_format=env.log_format(),
            redis_url=topology.resolve_url(env.url("REDIS_URL", URL_SCHEMES)),
            redis_topology=topology,
            namespace=namespace_setting(env),
        )
