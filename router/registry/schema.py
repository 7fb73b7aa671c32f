"""The ``POST /api/v1/register`` body: cerberus schema and the checks across fields."""

from __future__ import annotations

import uuid
from typing import Any

from flask_core.datamodels import MODULE_TYPES
from flask_core.errors import ValidationError
from flask_core.validation import MODULE_ID, SEMVER, validate_input

from .models import Registration

ACTION_ID = r"^[a-z][a-z0-9_.-]{0,63}$"
COMMAND_NAME = r"^![A-Za-z0-9_-]{1,32}$"
PATH = r"^/[A-Za-z0-9_.~!$&'()*+,;=:@%/-]{0,255}$"
INSTANCE_ID = r"^[A-Za-z0-9_.:-]{1,128}$"
EVENT_TYPE = r"^(\*|[a-z][a-z0-9_]*(\.[a-z0-9_*]+)*)$"

_ACTION = {
    "type": "dict",
    "schema": {
        "id": {"type": "string", "required": True, "regex": ACTION_ID},
        "path": {"type": "string", "required": True, "regex": PATH},
        "timeout_ms": {"type": "integer", "min": 1, "max": 60000, "default": 5000},
    },
}
_COMMAND = {
    "type": "dict",
    "schema": {
        "name": {"type": "string", "required": True, "regex": COMMAND_NAME},
        "action": {"type": "string", "required": True, "regex": ACTION_ID},
    },
}

REGISTER_SCHEMA: dict[str, Any] = {
    "module_id": {"type": "string", "required": True, "regex": MODULE_ID},
    "module_version": {"type": "string", "required": True, "maxlength": 64, "regex": SEMVER},
    # The WaddleBot body names no type: a module that only answers calls is an action module.
    "module_type": {"type": "string", "allowed": list(MODULE_TYPES), "default": "action"},
    "base_url": {
        "type": "string",
        "nullable": True,
        "maxlength": 2048,
        "regex": r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
    },
    "port": {"type": "integer", "min": 1, "max": 65535, "nullable": True},
    "health_check": {"type": "string", "regex": PATH, "default": "/health"},
    "endpoints": {
        "type": "list",
        "maxlength": 100,
        "default": [],
        "schema": {"type": "string", "regex": PATH},
    },
    "actions": {"type": "list", "maxlength": 100, "default": [], "schema": _ACTION},
    "commands": {"type": "list", "maxlength": 100, "default": [], "schema": _COMMAND},
    "subscriptions": {
        "type": "list",
        "maxlength": 100,
        "default": [],
        "schema": {"type": "string", "maxlength": 64, "regex": EVENT_TYPE},
    },
    "instance_id": {"type": "string", "nullable": True, "regex": INSTANCE_ID},
}


def _duplicates(values: list[str]) -> list[str]:
    seen: set[str] = set()
    return sorted({v for v in values if v in seen or seen.add(v)})  # type: ignore[func-returns-value]


def _cross_field_errors(document: dict[str, Any]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if not document.get("base_url") and not document.get("port"):
        problems["port"] = ["required when base_url is omitted"]
    action_ids = [action["id"] for action in document["actions"]]
    if repeated := _duplicates(action_ids):
        problems["actions"] = [f"duplicate action ids: {', '.join(repeated)}"]
    names = [command["name"].lower() for command in document["commands"]]
    if repeated := _duplicates(names):
        problems["commands"] = [f"duplicate command names: {', '.join(repeated)}"]
    unknown = sorted({c["action"] for c in document["commands"]} - set(action_ids))
    if unknown:
        problems.setdefault("commands", []).append(
            f"commands must run this module's own actions; unknown: {', '.join(unknown)}"
        )
    return problems


def parse_registration(body: Any, peer_address: str | None) -> Registration:
    """Validate a registration body; the base URL defaults to ``http://<peer>:<port>``."""
    document = validate_input(body, REGISTER_SCHEMA)
    if problems := _cross_field_errors(document):
        raise ValidationError(problems)
    base_url = document.get("base_url") or _peer_url(peer_address, document["port"])
    return Registration(
        module_id=document["module_id"],
        module_version=document["module_version"],
        module_type=document["module_type"],
        base_url=base_url.rstrip("/"),
        health_check=document["health_check"],
        instance_id=document.get("instance_id") or uuid.uuid4().hex,
        endpoints=tuple(document["endpoints"]),
        actions=tuple(document["actions"]),
        commands=tuple({**c, "name": c["name"].lower()} for c in document["commands"]),
        subscriptions=tuple(document["subscriptions"]),
    )


def _peer_url(peer_address: str | None, port: int) -> str:
    if not peer_address:
        raise ValidationError({"base_url": ["required: the caller's address is unknown"]})
    host = f"[{peer_address}]" if ":" in peer_address else peer_address
    return f"http://{host}:{port}"
