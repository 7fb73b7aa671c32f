"""The router's and the hub's environment variables (SPEC §1): ``--help`` is printed from
these tables and ``docs/configuration.md`` is checked against them."""

from __future__ import annotations

from flask_core.variables import COMMON_VARIABLES, UNSET, Variable

ROUTER_VARIABLES: tuple[Variable, ...] = (
    Variable(
        "DATABASE_URL",
        "unset: embedded PostgreSQL in ROUTER_DATA_DIR",
        "`postgresql://…` of the registry, keys, communities and audit trail",
    ),
    Variable(
        "REDIS_URL",
        "unset: embedded Redis in ROUTER_DATA_DIR",
        "`redis://…`, `rediss://…` or `unix://…`",
    ),
    Variable(
        "ROUTER_DATA_DIR", "./.data", "where embedded servers, spools and generated keys live"
    ),
    Variable("ROUTER_HOST", "127.0.0.1", "bind address"),
    Variable("ROUTER_PORT", "8000", "bind port"),
    Variable(
        "ROUTER_WORKERS",
        "1",
        "worker processes on the shared socket; more than 1: one that dies is logged and replaced",
    ),
    Variable(
        "ROUTER_BOOTSTRAP_ADMIN_KEY",
        UNSET,
        "a global admin key with exactly this value exists after start-up (never logged)",
    ),
    Variable(
        "ROUTER_BOOTSTRAP_KEYS_FILE",
        UNSET,
        "JSON file of keys (name, role, communities, module_id, secret) that exist after "
        "start-up, created idempotently",
    ),
    Variable(
        "ROUTER_SIGNING_KEY_FILE",
        "unset: generated once in ROUTER_DATA_DIR",
        "Ed25519 private key (PEM) signing router→module tokens and deriving the API-key "
        "pepper; every worker and replica must share it",
    ),
    Variable(
        "ROUTER_RATE_LIMIT_KEY",
        "600/minute",
        "limit per API key, as `N/second`, `N/minute` or `N/hour`",
    ),
    Variable("ROUTER_RATE_LIMIT_COMMUNITY", "6000/minute", "limit per community"),
    Variable("ROUTER_RATE_LIMIT_USER", "60/minute", "limit per (community, user)"),
    Variable(
        "ROUTER_RATE_LIMIT_ANONYMOUS",
        "120/minute",
        "limit per client address for requests whose key is missing or unknown",
    ),
    Variable(
        "ROUTER_MODULE_NETWORKS",
        "unset: any",
        "comma-separated CIDRs a registered `base_url` and the health prober may reach",
    ),
    Variable("ROUTER_LEASE_TTL_SECONDS", "30", "a module instance's registration lease"),
    Variable("ROUTER_HEALTH_INTERVAL_SECONDS", "10", "active health-check interval"),
    Variable(
        "ROUTER_PROXY_TIMEOUT_MS",
        "5000",
        "time budget of one request through `/api/v1/services/{module}/{path}` (then 504)",
    ),
    Variable(
        "PROMETHEUS_MULTIPROC_DIR",
        "set by the router",
        "where workers share metrics; `python -m router` sets it when `ROUTER_WORKERS` > 1 "
        "(do not set it yourself)",
    ),
)

EVENT_VARIABLES: tuple[Variable, ...] = (
    Variable("ROUTER_EVENTS_DEDUP_TTL_SECONDS", "86400", "how long an event id is remembered"),
    Variable("ROUTER_EVENTS_STREAM_MAXLEN", "100000", "entries kept per community stream"),
    Variable("ROUTER_EVENTS_DEADLETTER_MAXLEN", "10000", "dead letters kept per community"),
    Variable("ROUTER_EVENTS_MAX_ATTEMPTS", "5", "delivery attempts before a dead letter"),
    Variable("ROUTER_EVENTS_RETRY_BASE_SECONDS", "0.5", "first retry delay (doubling)"),
    Variable("ROUTER_EVENTS_RETRY_MAX_SECONDS", "30.0", "longest retry delay"),
    Variable("ROUTER_EVENTS_LEASE_TTL_SECONDS", "10.0", "a deliverer's lease on its module"),
    Variable("ROUTER_EVENTS_SCAN_SECONDS", "1.0", "how often deliverers look for new groups"),
    Variable("ROUTER_EVENTS_BLOCK_MS", "1000", "longest blocking stream read"),
    Variable("ROUTER_EVENTS_DELIVERY_TIMEOUT_SECONDS", "5.0", "timeout of one push to a module"),
    Variable("ROUTER_EVENTS_SPOOL_RETRY_SECONDS", "1.0", "retry delay of the spool flusher"),
    Variable(
        "ROUTER_EVENTS_RECENT_IDS", "10000", "event ids remembered in-process while Redis is down"
    ),
)

HUB_VARIABLES: tuple[Variable, ...] = (
    Variable(
        "ROUTER_BOOTSTRAP_ADMIN_KEY",
        "unset: kept in ROUTER_DATA_DIR/hub/admin.key",
        "the hub's admin key, used to mint a key for each module",
    ),
    Variable(
        "DISCORD_APPLICATION_ID",
        "local-application",
        "handed to the Discord module",
    ),
)

ROUTER_SECTIONS: tuple[tuple[str, tuple[Variable, ...]], ...] = (
    ("router", ROUTER_VARIABLES),
    ("events", EVENT_VARIABLES),
    ("every service", COMMON_VARIABLES),
)

HUB_SECTIONS: tuple[tuple[str, tuple[Variable, ...]], ...] = (
    ("hub", HUB_VARIABLES),
    *ROUTER_SECTIONS,
)
