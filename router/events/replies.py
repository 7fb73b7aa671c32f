"""Replies as durable envelopes (SPEC §7): ``response.{platform}``, delivered like events.

Every command result with text and every ``POST /api/v1/responses`` becomes an envelope of type
``response.{platform}`` that takes the events' own path: deduplicated, appended to the
community's stream (so it is ordered with the community's events), pushed to the modules that
subscribed to the type, acknowledged, retried and dead-lettered. The pub/sub publish on
``responses.{community}.{platform}`` happens besides, unchanged.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask_core.replies import response_type
from flask_core.timestamps import now_rfc3339

from .models import Envelope

# Stable ids: a command's reply is named after its event, so a replayed event cannot reply twice.
_REPLY_NAMESPACE = uuid.UUID("3f8d7c2e-51a4-4e0b-9b8e-6c1f2a7d4e90")
ROUTER_SOURCE = "router"


def reply_envelope(
    *,
    response_id: str,
    community_id: str,
    platform: str,
    channel_id: str,
    text: str | None,
    payload: dict[str, Any] | None,
    in_reply_to: str | None,
    source: str,
) -> Envelope:
    """The ``response.{platform}`` envelope of one reply (its event id is the response id)."""
    now = now_rfc3339()
    return Envelope(
        event_id=response_id,
        community_id=community_id,
        platform=platform,
        type=response_type(platform),
        user_id=None,
        channel_id=channel_id,
        occurred_at=now,
        received_at=now,
        payload={
            "response_id": response_id,
            "channel_id": channel_id,
            "text": text,
            "payload": payload,
            "in_reply_to": in_reply_to,
        },
        source=source,
    )


def command_text(outcome: dict[str, Any]) -> str | None:
    """The text a command's action answered (``result.text``), or None when it has none."""
    if outcome.get("status") != "ok":
        return None
    result = outcome.get("result")
    if isinstance(result, str):
        return result or None
    if isinstance(result, dict):
        for key in ("text", "content", "message"):
            value = result.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def command_reply(event: Envelope, outcome: dict[str, Any]) -> Envelope | None:
    """The reply to a chat command, threaded under the platform message when it is known."""
    text = command_text(outcome)
    if text is None or not event.channel_id:
        return None
    message_id = event.payload.get("message_id")
    return reply_envelope(
        response_id=str(uuid.uuid5(_REPLY_NAMESPACE, event.event_id)),
        community_id=event.community_id,
        platform=event.platform,
        channel_id=event.channel_id,
        text=text,
        # The event id lets a module recognise a command it already answered itself (a Discord
        # interaction answered inline), so the same answer is not posted twice.
        payload={"event_id": event.event_id, "command": outcome},
        in_reply_to=message_id if isinstance(message_id, str) and message_id else None,
        source=ROUTER_SOURCE,
    )
