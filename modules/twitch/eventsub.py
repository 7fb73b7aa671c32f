"""Twitch EventSub messages as router events (SPEC §7, §11)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask_core.platforms.webhooks import parse_twitch_timestamp
from flask_core.timestamps import rfc3339

# Stable event ids: a redelivered Twitch message maps to the same router event_id.
_EVENT_NAMESPACE = uuid.UUID("6f1c1d52-7a53-4c2e-9d55-1f0b8f1c9a11")


def event_id_of(message_id: str) -> str:
    """The router ``event_id`` of an EventSub message (the same for every redelivery)."""
    return str(uuid.uuid5(_EVENT_NAMESPACE, message_id))


def _occurred_at(timestamp: str) -> str:
    seconds = parse_twitch_timestamp(timestamp)
    moment = datetime.fromtimestamp(seconds, UTC) if seconds is not None else datetime.now(UTC)
    return rfc3339(moment)


def _twitch_user(event: dict[str, Any], *fields: str) -> str | None:
    for field in fields:
        value = event.get(field)
        if isinstance(value, str) and value:
            return f"twitch:{value}"
    return None


def broadcaster_of(message: dict[str, Any]) -> str | None:
    """The broadcaster id that names the community of a notification or revocation."""
    event = message.get("event") or {}
    condition = (message.get("subscription") or {}).get("condition") or {}
    for source in (event, condition):
        if isinstance(source, dict):
            value = source.get("broadcaster_user_id")
            if isinstance(value, str) and value:
                return value
    return None


def notification_event(message: dict[str, Any], message_id: str, timestamp: str) -> dict[str, Any]:
    """The router event of a ``notification``; chat messages become ``chat.message``."""
    subscription_type = str((message.get("subscription") or {}).get("type") or "unknown")
    event = message.get("event") if isinstance(message.get("event"), dict) else {}
    assert isinstance(event, dict)
    routed: dict[str, Any] = {
        "event_id": event_id_of(message_id),
        "platform": "twitch",
        "occurred_at": _occurred_at(timestamp),
        "channel_id": broadcaster_of(message),
    }
    if subscription_type == "channel.chat.message":
        text = (event.get("message") or {}).get("text", "")
        routed |= {
            "type": "chat.message",
            "user_id": _twitch_user(event, "chatter_user_id"),
            "payload": {
                "text": text if isinstance(text, str) else "",
                "chatter_login": event.get("chatter_user_login"),
                "message_id": event.get("message_id"),
                "twitch": event,
            },
        }
    else:
        routed |= {
            "type": subscription_type,
            "user_id": _twitch_user(event, "user_id", "from_broadcaster_user_id"),
            "payload": event,
        }
    return {key: value for key, value in routed.items() if value is not None}


def revocation_event(message: dict[str, Any], message_id: str, timestamp: str) -> dict[str, Any]:
    """A ``revocation`` forwarded as ``subscription.revoked``."""
    subscription = message.get("subscription") or {}
    routed = {
        "event_id": event_id_of(message_id),
        "platform": "twitch",
        "type": "subscription.revoked",
        "occurred_at": _occurred_at(timestamp),
        "channel_id": broadcaster_of(message),
        "payload": {
            "subscription_id": subscription.get("id"),
            "subscription_type": subscription.get("type"),
            "status": subscription.get("status"),
            "condition": subscription.get("condition"),
        },
    }
    return {key: value for key, value in routed.items() if value is not None}
