"""flask_core: the shared core every Router Hub service imports.

The face is narrow: import from the submodules named in ``__all__``.
"""

__version__ = "0.1.0"

__all__ = [
    "api",
    "auth",
    "breaker",
    "breaker_redis",
    "database",
    "datamodels",
    "embedded",
    "errors",
    "events",
    "failover",
    "forwarding",
    "keyspace",
    "logging",
    "metrics",
    "module",
    "openapi",
    "querystring",
    "ratelimit",
    "recent",
    "redis_client",
    "router_client",
    "routes",
    "settings",
    "slots",
    "spool",
    "tasks",
    "timestamps",
    "tokens",
    "validation",
    "webhooks",
]
