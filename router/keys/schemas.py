"""Request bodies of the key admin API (cerberus)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_core import errors
from flask_core.auth import GLOBAL_SCOPE, ROLES
from flask_core.settings import parse_rate
from flask_core.validation import MODULE_ID, STORABLE_TEXT, parse_rfc3339

from .models import NewKey

COMMUNITY_OR_GLOBAL = r"^(\*|[A-Za-z0-9_-]{1,64})$"
MAX_GRACE_SECONDS = 86_400

CREATE_KEY = {
    "name": {
        "type": "string",
        "required": True,
        "minlength": 1,
        "maxlength": 128,
        "regex": STORABLE_TEXT,
    },
    "role": {"type": "string", "required": True, "allowed": list(ROLES)},
    "communities": {
        "type": "list",
        "default": [GLOBAL_SCOPE],
        "minlength": 1,
        "maxlength": 100,
        "schema": {"type": "string", "regex": COMMUNITY_OR_GLOBAL},
    },
    "module_id": {"type": "string", "nullable": True, "regex": MODULE_ID},
    "expires_at": {"type": "string", "nullable": True, "check_with": "rfc3339"},
    "rate_limit": {"type": "string", "nullable": True, "maxlength": 32},
}

ROTATE_KEY = {
    "grace_seconds": {"type": "integer", "min": 0, "max": MAX_GRACE_SECONDS, "default": 0},
}


def _communities(values: list[str]) -> tuple[str, ...]:
    unique = tuple(dict.fromkeys(values))
    if GLOBAL_SCOPE in unique and len(unique) > 1:
        raise errors.ValidationError({"communities": ['"*" cannot be combined with ids']})
    return unique


def _expiry(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = parse_rfc3339(value)
    assert moment is not None  # checked by the schema
    if moment <= datetime.now(UTC):
        raise errors.ValidationError({"expires_at": ["must be in the future"]})
    return moment


def _rate(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return parse_rate(value)
    except ValueError as exc:
        raise errors.ValidationError({"rate_limit": [str(exc)]}) from None


def new_key_from(body: dict[str, Any]) -> NewKey:
    """Turn a validated creation body into a ``NewKey`` (with the checks cerberus cannot do)."""
    return NewKey(
        name=body["name"],
        role=body["role"],
        communities=_communities(body["communities"]),
        module_id=body.get("module_id"),
        rate_limit=_rate(body.get("rate_limit")),
        expires_at=_expiry(body.get("expires_at")),
    )
