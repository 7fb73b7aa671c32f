"""Discord interactions and webhook events as router events, and replies as messages."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from flask_core.datamodels import CommandOutcome
from flask_core.timestamps import now_rfc3339

PING = 1
APPLICATION_COMMAND = 2
AUTOCOMPLETE = 4
PONG = 1
CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
AUTOCOMPLETE_RESULT = 8
EPHEMERAL = 64
MAX_CONTENT = 2000

_EVENT_NAMESPACE = uuid.UUID("0b6b1f64-3f0e-4a53-8d3c-5b7f6a0f2c42")


def event_id_of(interaction_id: str) -> str:
    """The router ``event_id`` of an interaction (the same if Discord sends it again)."""
    return str(uuid.uuid5(_EVENT_NAMESPACE, interaction_id))


def _user_id(interaction: dict[str, Any]) -> str | None:
    member = interaction.get("member") or {}
    user = member.get("user") or interaction.get("user") or {}
    value = user.get("id") if isinstance(user, dict) else None
    return f"discord:{value}" if isinstance(value, str) and value else None


def command_text(data: dict[str, Any]) -> str:
    """``/quote text:hello`` as the chat command ``!quote hello``."""
    words = [f"!{data.get('name', '')}"]
    for option in data.get("options") or []:
        if isinstance(option, dict) and "value" in option:
            words.append(str(option["value"]))
    return " ".join(words)


def command_event(interaction: dict[str, Any]) -> dict[str, Any]:
    """The router event of an application command: a ``chat.message`` naming the command."""
    data = interaction.get("data") or {}
    event = {
        "event_id": event_id_of(str(interaction.get("id"))),
        "platform": "discord",
        "type": "chat.message",
        "user_id": _user_id(interaction),
        "channel_id": interaction.get("channel_id"),
        "occurred_at": now_rfc3339(),
        "payload": {
            "text": command_text(data),
            "interaction_id": interaction.get("id"),
            "command": data.get("name"),
            "options": data.get("options") or [],
            "guild_id": interaction.get("guild_id"),
        },
    }
    return {key: value for key, value in event.items() if value is not None}


def webhook_event(body: dict[str, Any], raw: bytes) -> dict[str, Any]:
    """A Discord webhook event (``APPLICATION_AUTHORIZED``, …) keeping its type name."""
    event = body.get("event") or {}
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    assert isinstance(data, dict)
    user = data.get("user") if isinstance(data.get("user"), dict) else {}
    assert isinstance(user, dict)
    routed = {
        "event_id": str(uuid.uuid5(_EVENT_NAMESPACE, hashlib.sha256(raw).hexdigest())),
        "platform": "discord",
        "type": str(event.get("type") or "unknown"),
        "user_id": f"discord:{user['id']}" if isinstance(user.get("id"), str) else None,
        "occurred_at": event.get("timestamp") if isinstance(event.get("timestamp"), str) else None,
        "payload": data,
    }
    return {key: value for key, value in routed.items() if value is not None}


def guild_of(body: dict[str, Any]) -> str | None:
    """The guild (server) a webhook event concerns, which names its community."""
    data = (body.get("event") or {}).get("data") or {}
    guild = data.get("guild") if isinstance(data, dict) else None
    if isinstance(guild, dict) and isinstance(guild.get("id"), str):
        return str(guild["id"])
    value = data.get("guild_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def reply_content(command: CommandOutcome | None) -> str:
    """The text a user sees for the router's ``command`` answer."""
    if not command:
        return "Unknown command."
    result = command.get("result")
    if isinstance(result, dict) and "result" in result and "action_id" in result:
        result = result["result"]  # the full action answer: unwrap the module's result
    if isinstance(result, dict):
        for key in ("content", "text", "message", "detail"):
            if isinstance(result.get(key), str):
                return _clip(result[key])
        quote = result.get("quote")
        if isinstance(quote, dict) and isinstance(quote.get("text"), str):
            return _clip(quote["text"])
    if isinstance(result, str):
        return _clip(result)
    return _clip(json.dumps(result, ensure_ascii=False))


def _clip(text: str) -> str:
    return text if len(text) <= MAX_CONTENT else text[: MAX_CONTENT - 1] + "…"


def message(content: str, *, ephemeral: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {"content": content}
    if ephemeral:
        data["flags"] = EPHEMERAL
    return {"type": CHANNEL_MESSAGE, "data": data}
