"""flask_core: the shared core every Router Hub service imports.

The face is narrow: import from the submodules named in ``__all__``. Two sub-packages hold
what not every service needs: ``flask_core.platforms`` (webhook checks of one chat platform)
and ``flask_core.router_only`` (embedded stores, the Redis breaker store, the spool).
"""

__version__ = "0.2.0"  # the same as pyproject.toml; a test checks the built wheel

__all__ = [
    "api",
    "auth",
    "breaker",
    "calls",
    "database",
    "datamodels",
    "errors",
    "events",
    "failover",
    "forwarding",
    "jsonio",
    "keyspace",
    "logging",
    "metrics",
    "module",
    "openapi",
    "platforms",
    "probe",
    "querystring",
    "ratelimit",
    "recent",
    "redis_client",
    "router_client",
    "router_only",
    "routes",
    "serving",
    "settings",
    "slots",
    "tasks",
    "timestamps",
    "tokens",
    "validation",
    "variables",
]
