"""EventSub messages signed exactly as Twitch signs them (for ``say`` and for tests).

Twitch sends ``Twitch-Eventsub-Message-Signature: sha256=<hex>``, an HMAC-SHA256 with the
subscription's secret over message id + timestamp + raw body (SPEC §11).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class SignedMessage:
    """A message ready to post to ``/webhooks/twitch``: its raw body and headers."""

    message_id: str
    body: bytes
    headers: dict[str, str]


def eventsub_timestamp(age: timedelta = timedelta(0)) -> str:
    """An RFC 3339 UTC timestamp as Twitch writes it, ``age`` in the past."""
    return (datetime.now(UTC) - age).isoformat().replace("+00:00", "Z")


def sign_eventsub(
    secret: bytes,
    kind: str,
    message: dict[str, Any],
    *,
    message_id: str | None = None,
    timestamp: str | None = None,
) -> SignedMessage:
    """Sign ``message`` of EventSub type ``kind`` (``notification``, ``revocation``, …)."""
    raw = json.dumps(message).encode()
    message_id = message_id or str(uuid.uuid4())
    stamp = timestamp or eventsub_timestamp()
    digest = hmac.new(secret, message_id.encode() + stamp.encode() + raw, hashlib.sha256)
    headers = {
        "Twitch-Eventsub-Message-Id": message_id,
        "Twitch-Eventsub-Message-Timestamp": stamp,
        "Twitch-Eventsub-Message-Signature": f"sha256={digest.hexdigest()}",
        "Twitch-Eventsub-Message-Type": kind,
        "Twitch-Eventsub-Message-Retry": "0",
        "Twitch-Eventsub-Subscription-Type": str((message.get("subscription") or {}).get("type")),
        "Twitch-Eventsub-Subscription-Version": "1",
        "Content-Type": "application/json",
    }
    return SignedMessage(message_id, raw, headers)


def chat_message(
    broadcaster_id: str,
    text: str,
    *,
    chatter_id: str = "1001",
    chatter_login: str = "viewer",
    message_id: str | None = None,
) -> dict[str, Any]:
    """A ``channel.chat.message`` notification body, shaped like Twitch's."""
    return {
        "subscription": {
            "id": str(uuid.uuid4()),
            "type": "channel.chat.message",
            "version": "1",
            "status": "enabled",
            "condition": {"broadcaster_user_id": broadcaster_id, "user_id": broadcaster_id},
            "transport": {"method": "webhook", "callback": "http://127.0.0.1/webhooks/twitch"},
            "created_at": eventsub_timestamp(),
        },
        "event": {
            "broadcaster_user_id": broadcaster_id,
            "broadcaster_user_login": f"channel{broadcaster_id}",
            "broadcaster_user_name": f"channel{broadcaster_id}",
            "chatter_user_id": chatter_id,
            "chatter_user_login": chatter_login,
            "chatter_user_name": chatter_login,
            "message_id": message_id or str(uuid.uuid4()),
            "message": {"text": text, "fragments": [{"type": "text", "text": text}]},
            "message_type": "text",
            "badges": [],
            "color": "",
        },
    }
