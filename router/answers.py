"""The success answers and query parameters of the router's routes (SPEC §2-§10), as the views
declare them in ``@route(answers=..., query=...)``.

They make ``/openapi.json`` describe every response, so the fuzzer checks what the router
answers as well as what it accepts. Kept in one place because several domains share shapes
(timestamps, key objects, lists of items).
"""

from __future__ import annotations

from typing import Any

from flask_core.querystring import QueryParam
from flask_core.routes import Answer

JsonSchema = dict[str, Any]

TEXT: JsonSchema = {"type": "string"}
MAYBE_TEXT: JsonSchema = {"type": ["string", "null"]}
MOMENT: JsonSchema = {"type": "string"}  # RFC 3339, UTC
MAYBE_MOMENT: JsonSchema = {"type": ["string", "null"]}
COUNT: JsonSchema = {"type": "integer", "minimum": 0}
ANY_JSON: JsonSchema = {}


def obj(required: dict[str, JsonSchema], **optional: JsonSchema) -> JsonSchema:
    """An object with exactly these members (``required`` always present)."""
    return {
        "type": "object",
        "required": sorted(required),
        "properties": {**required, **optional},
        "additionalProperties": False,
    }


def items_of(item: JsonSchema, **more: JsonSchema) -> JsonSchema:
    return obj({"items": {"type": "array", "items": item}, **more})


def ok(schema: JsonSchema, status: int = 200) -> tuple[Answer, ...]:
    return (Answer(status, schema),)


NO_CONTENT = (Answer(204),)

# -- keys (SPEC §9) --------------------------------------------------------------------------

KEY_OBJECT = obj(
    {
        "id": TEXT,
        "prefix": TEXT,
        "name": TEXT,
        "role": {"enum": ["trigger", "action", "core", "admin", "user"]},
        "communities": {"type": "array", "items": TEXT},
        "module_id": MAYBE_TEXT,
        "rate_limit": MAYBE_TEXT,
        "created_at": MOMENT,
        "expires_at": MAYBE_MOMENT,
        "last_used_at": MAYBE_MOMENT,
        "revoked_at": MAYBE_MOMENT,
    }
)
NEW_KEY = obj(
    {**KEY_OBJECT["properties"], "key": TEXT},
    replaces=TEXT,
)
KEY_LIST = items_of(KEY_OBJECT, next_cursor=MAYBE_TEXT)

# -- communities (SPEC §8) -------------------------------------------------------------------

COMMUNITY = obj({"id": TEXT, "name": TEXT, "created_at": MOMENT})
COMMUNITY_LIST = items_of(COMMUNITY)
CHANNEL = obj({"community_id": TEXT, "platform": TEXT, "channel_id": TEXT, "created_at": MOMENT})
CHANNEL_ANSWERS = (Answer(201, CHANNEL), Answer(200, CHANNEL))
LINKED_CHANNEL = obj({"platform": TEXT, "channel_id": TEXT, "linked_at": MOMENT})
COMMUNITY_DETAIL = obj(
    {**COMMUNITY["properties"], "channels": {"type": "array", "items": LINKED_CHANNEL}}
)
RESOLVED = obj({"community_id": TEXT})
RESOLVE_QUERY = {
    "platform": QueryParam("the platform of the channel"),
    "channel_id": QueryParam("the channel's id on that platform"),
}

# -- audit (SPEC §10) ------------------------------------------------------------------------

AUDIT_ITEM = obj(
    {
        "id": {"type": "integer"},
        "timestamp": MOMENT,
        "category": {"enum": ["AUTH", "AUTHZ", "AUDIT", "ERROR", "SYSTEM"]},
        "module": TEXT,
        "version": TEXT,
        "community": MAYBE_TEXT,
        "user": MAYBE_TEXT,
        "action": TEXT,
        "result": TEXT,
        "reason": MAYBE_TEXT,
        "correlation_id": MAYBE_TEXT,
        "details": {"type": ["object", "null"]},
    }
)
AUDIT_PAGE = items_of(AUDIT_ITEM, next_cursor=MAYBE_TEXT)
CATEGORY_COUNTS = obj({c: COUNT for c in ("AUTH", "AUTHZ", "AUDIT", "ERROR", "SYSTEM")})
AUDIT_STATS = obj(
    {"buckets": {"type": "array", "items": obj({"start": MOMENT, "counts": CATEGORY_COUNTS})}}
)
AUDIT_VERIFY = obj({"ok": {"type": "boolean"}, "checked": COUNT, "first_bad_id": ANY_JSON})
AUDIT_EXPORT = (
    Answer(200, {"type": "string"}, media_type="application/x-ndjson"),
    Answer(200, {"type": "string"}, media_type="text/csv"),
)

# -- dead letters (SPEC §7) ------------------------------------------------------------------

DEAD_LETTER = obj(
    {
        "id": TEXT,
        "community_id": TEXT,
        "module_id": TEXT,
        "event_id": ANY_JSON,
        "type": TEXT,
        "attempts": COUNT,
        "last_error": TEXT,
        "source_id": TEXT,
        "failed_at_ms": COUNT,
        "envelope": ANY_JSON,
    }
)
DEAD_LETTERS = items_of(DEAD_LETTER)
REPLAYED = obj({"id": TEXT, "replayed_as": TEXT})

# -- registry (SPEC §4) ----------------------------------------------------------------------

REGISTERED = obj(
    {
        "module_id": TEXT,
        "instance_id": TEXT,
        "lease_ttl_seconds": COUNT,
        "heartbeat_interval_seconds": COUNT,
        "registered_at": MOMENT,
    }
)
REGISTER_ANSWERS = (Answer(201, REGISTERED), Answer(200, REGISTERED))
LEASE = obj({"lease_expires_at": MOMENT})
BREAKER = {"enum": ["closed", "open", "half_open"]}
INSTANCE = obj(
    {
        "instance_id": TEXT,
        "base_url": TEXT,
        "status": {"enum": ["healthy", "unavailable"]},
        "lease_expires_at": MOMENT,
        "breaker": BREAKER,
    }
)
MODULE = obj(
    {
        "module_id": TEXT,
        "module_version": TEXT,
        "module_type": TEXT,
        "status": {"enum": ["healthy", "degraded", "unavailable"]},
        "instances": {"type": "array", "items": INSTANCE},
        "actions": {"type": "array", "items": {"type": "object"}},
        "commands": {"type": "array", "items": {"type": "object"}},
        "subscriptions": {"type": "array", "items": TEXT},
        "endpoints": {"type": "array", "items": TEXT},
    }
)
MODULE_LIST = items_of(MODULE)
HEALTH_STATUS = {"enum": ["healthy", "degraded", "unavailable"]}
SERVICES_HEALTH = obj(
    {
        "status": HEALTH_STATUS,
        "services": {
            "type": "object",
            "additionalProperties": obj(
                {"status": HEALTH_STATUS, "healthy_instances": COUNT, "instances": COUNT}
            ),
        },
    }
)
BREAKER_RESET = obj(
    {"module_id": TEXT, "instance_id": TEXT, "breaker": {"enum": ["closed"]}, "previous": TEXT}
)

# -- actions and events (SPEC §5, §7) --------------------------------------------------------

# The proxy by name passes the module's own answer through, whatever its type (SPEC §4).
PROXIED = (Answer(200, ANY_JSON, media_type="*/*"),)

ACTION_RESULT = obj(
    {
        "success": {"enum": [True]},
        "action_id": TEXT,
        "result": ANY_JSON,
        "execution_time_ms": {"type": "number", "minimum": 0},
    }
)
COMMAND_OUTCOME = {"type": ["object", "null"]}
ACCEPTED = obj({"event_id": TEXT, "duplicate": {"type": "boolean"}}, command=COMMAND_OUTCOME)
EVENT_ANSWERS = (Answer(202, ACCEPTED), Answer(200, ACCEPTED))
BATCH_ACCEPTED = obj({"results": {"type": "array", "items": ACCEPTED}})
RESPONSE_ACCEPTED = obj({"response_id": TEXT})

# -- the admin console (SPEC §12): static pages and assets -----------------------------------

CONSOLE_REDIRECT = (Answer(308, {"type": "string"}, media_type="text/html"),)
CONSOLE_PAGE = (Answer(200, {"type": "string"}, media_type="text/html"),)
CONSOLE_ASSET = (Answer(200, {}, media_type="*/*"),)

# -- probes (SPEC §2) ------------------------------------------------------------------------

CONNECTION = {"enum": ["connected", "disconnected"]}
DEPENDENCIES = obj({"database": CONNECTION, "redis": CONNECTION})
HEALTH = obj(
    {
        "status": {"enum": ["healthy", "degraded"]},
        "module": {"enum": ["router"]},
        "version": TEXT,
        "uptime_seconds": {"type": "number", "minimum": 0},
        "dependencies": DEPENDENCIES,
    }
)
READY = obj({"status": {"enum": ["ready"]}, "dependencies": DEPENDENCIES})
METRICS = (Answer(200, {"type": "string"}, media_type="text/plain"),)
OPENAPI = obj(
    {"openapi": TEXT, "info": {"type": "object"}, "paths": {"type": "object"}},
    components={"type": "object"},
)
JWK = obj({"kty": TEXT, "crv": TEXT, "x": TEXT, "kid": TEXT, "alg": TEXT, "use": TEXT})
JWKS = obj({"keys": {"type": "array", "items": JWK}})
