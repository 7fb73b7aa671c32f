"""The shapes of Discord interactions and webhook events, checked before any field is used.

Only what this module reads is constrained (400 otherwise); Discord adds fields over time, so
unknown members are allowed.
"""

from __future__ import annotations

from typing import Any

from flask_core.validation import validate_input

_ID = {"type": "string", "maxlength": 64, "nullable": True}
_USER = {"type": "dict", "nullable": True, "allow_unknown": True, "schema": {"id": _ID}}
# Options nest (sub-commands and groups); the strict JSON reader already bounds the depth.
_OPTION = {
    "type": "dict",
    "allow_unknown": True,
    "schema": {"name": {"type": "string", "maxlength": 128}},
}
_OPTIONS = {"type": "list", "nullable": True, "schema": _OPTION}

INTERACTION = {
    "type": {"type": "integer", "required": True},
    "id": _ID,
    "token": {"type": "string", "maxlength": 1024, "nullable": True},
    "guild_id": _ID,
    "channel_id": _ID,
    "member": {"type": "dict", "nullable": True, "allow_unknown": True, "schema": {"user": _USER}},
    "user": _USER,
    "data": {
        "type": "dict",
        "nullable": True,
        "allow_unknown": True,
        "schema": {"name": {"type": "string", "maxlength": 128}, "options": _OPTIONS},
    },
}
WEBHOOK_EVENT = {
    "type": {"type": "integer", "required": True},
    "event": {
        "type": "dict",
        "nullable": True,
        "allow_unknown": True,
        "schema": {
            "type": {"type": "string", "maxlength": 128},
            "timestamp": {"type": "string", "maxlength": 64, "nullable": True},
            "data": {
                "type": "dict",
                "nullable": True,
                "allow_unknown": True,
                "schema": {
                    "guild_id": _ID,
                    "guild": {
                        "type": "dict",
                        "nullable": True,
                        "allow_unknown": True,
                        "schema": {"id": _ID},
                    },
                    "user": _USER,
                },
            },
        },
    },
}


def checked_interaction(body: Any) -> dict[str, Any]:
    """``body`` once it has the shape of an interaction; 400 naming the fields otherwise."""
    validate_input(body, INTERACTION, allow_unknown=True)
    assert isinstance(body, dict)
    return body


def checked_webhook_event(body: Any) -> dict[str, Any]:
    """``body`` once it has the shape of a webhook event; 400 naming the fields otherwise."""
    validate_input(body, WEBHOOK_EVENT, allow_unknown=True)
    assert isinstance(body, dict)
    return body
