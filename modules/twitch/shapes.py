"""The shapes of EventSub messages, checked before any field is used (400 otherwise).

Only what this module reads is constrained; Twitch adds fields over time, so unknown members
are allowed everywhere.
"""

from __future__ import annotations

from typing import Any

from flask_core import errors
from flask_core.validation import validate_input

_ID = {"type": "string", "maxlength": 256}
_NAME = {"type": "string", "maxlength": 256, "nullable": True}
_PLACE = {"type": "dict", "allow_unknown": True, "schema": {"broadcaster_user_id": _NAME}}

SUBSCRIPTION = {
    "type": "dict",
    "required": True,
    "allow_unknown": True,
    "schema": {
        "id": _ID,
        "type": {"type": "string", "maxlength": 256},
        "version": _NAME,
        "status": _NAME,
        "condition": {**_PLACE, "nullable": True},
    },
}
CHALLENGE = {"challenge": {"type": "string", "required": True, "maxlength": 4096}}
NOTIFICATION = {
    "subscription": SUBSCRIPTION,
    "event": {
        "type": "dict",
        "required": True,
        "allow_unknown": True,
        "schema": {
            "broadcaster_user_id": _NAME,
            "user_id": _NAME,
            "from_broadcaster_user_id": _NAME,
            "chatter_user_id": _NAME,
            "chatter_user_login": _NAME,
            "message_id": _NAME,
            "message": {
                "type": "dict",
                "nullable": True,
                "allow_unknown": True,
                "schema": {"text": {"type": "string", "nullable": True}},
            },
        },
    },
}
REVOCATION = {"subscription": SUBSCRIPTION}

BY_KIND = {
    "webhook_callback_verification": CHALLENGE,
    "notification": NOTIFICATION,
    "revocation": REVOCATION,
}


def checked_message(kind: str, message: Any) -> dict[str, Any]:
    """``message`` once it has the shape of an EventSub ``kind``; 400 naming the fields."""
    schema = BY_KIND.get(kind)
    if schema is None:
        raise errors.BadRequest(f"Unknown EventSub message type {kind[:64]!r}.")
    validate_input(message, schema, allow_unknown=True)
    assert isinstance(message, dict)
    return message
