"""The event envelope, the input schemas, and the Redis names events live under."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from flask_core.api import dumps
from flask_core.datamodels import CHAT_MESSAGE, PLATFORMS
from flask_core.keyspace import DEFAULT_KEYSPACE
from flask_core.redis_client import reply_text
from flask_core.replies import RESPONSE_TYPE_PREFIX
from flask_core.timestamps import now_rfc3339
from flask_core.validation import USER_ID

BATCH_LIMIT = 100
_UUID = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
# A type becomes part of a pub/sub channel name, so no glob characters or whitespace.
_TYPE = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"

EVENT_SCHEMA: dict[str, Any] = {
    "event_id": {"type": "string", "regex": _UUID, "nullable": True},
    "platform": {"type": "string", "required": True, "allowed": list(PLATFORMS)},
    "type": {"type": "string", "required": True, "regex": _TYPE},
    "user_id": {"type": "string", "regex": USER_ID, "nullable": True},
    "channel_id": {"type": "string", "minlength": 1, "maxlength": 128, "nullable": True},
    "occurred_at": {"type": "string", "check_with": "rfc3339", "nullable": True},
    "payload": {"type": "dict", "required": True},
}

BATCH_SCHEMA: dict[str, Any] = {
    "events": {
        "type": "list",
        "required": True,
        "minlength": 1,
        "maxlength": BATCH_LIMIT,
        "schema": {"type": "dict", "schema": EVENT_SCHEMA},
    }
}

RESPONSE_SCHEMA: dict[str, Any] = {
    "platform": {"type": "string", "required": True, "allowed": list(PLATFORMS)},
    "channel_id": {"type": "string", "required": True, "minlength": 1, "maxlength": 128},
    "text": {"type": "string", "maxlength": 10_000, "nullable": True},
    "payload": {"type": "dict", "nullable": True},
    "in_reply_to": {"type": "string", "maxlength": 128, "nullable": True},
}


def is_reply_type(event_type: str) -> bool:
    """``response.{platform}``: a reply, which only the router makes."""
    return event_type.startswith(RESPONSE_TYPE_PREFIX)


_COMMAND = re.compile(r"^(![A-Za-z0-9_.-]{1,64})(?:\s+(.*))?$", re.DOTALL)


# The names in the default keyspace (stores take a ``Keyspace`` of their own).
stream_key = DEFAULT_KEYSPACE.event_stream
GROUPS_KEY = DEFAULT_KEYSPACE.event_groups


def group_member(module_id: str, community: str) -> str:
    return f"{module_id}|{community}"


def split_group_member(member: bytes | str) -> tuple[str, str]:
    module_id, _, community = reply_text(member).partition("|")
    return module_id, community


@dataclass(frozen=True, slots=True)
class Envelope:
    """What subscribers receive for one accepted event."""

    event_id: str
    community_id: str
    platform: str
    type: str
    user_id: str | None
    channel_id: str | None
    occurred_at: str
    received_at: str
    payload: dict[str, Any]
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    def to_json(self) -> str:
        return dumps(self.as_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Envelope:
        values: dict[str, Any] = {name: data.get(name) for name in cls.__slots__}
        return cls(**values)

    @property
    def command_text(self) -> tuple[str, str] | None:
        """``("!quote", "rest")`` when this is a chat message that starts with a command."""
        text = self.payload.get("text") if self.type == CHAT_MESSAGE else None
        match = _COMMAND.match(text.strip()) if isinstance(text, str) else None
        return (match.group(1).lower(), (match.group(2) or "").strip()) if match else None


def build_envelope(event: dict[str, Any], community: str, source: str) -> Envelope:
    """Enrich a validated event into its envelope (a fresh id when the trigger sent none)."""
    received_at = now_rfc3339()
    given = event.get("event_id")
    return Envelope(
        event_id=str(uuid.UUID(given)) if given else str(uuid.uuid4()),
        community_id=community,
        platform=event["platform"],
        type=event["type"],
        user_id=event.get("user_id"),
        channel_id=event.get("channel_id"),
        occurred_at=event.get("occurred_at") or received_at,
        received_at=received_at,
        payload=event["payload"],
        source=source,
    )
