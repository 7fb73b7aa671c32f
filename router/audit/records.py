"""An audit record, its canonical form and the hash chain over it."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from flask_core.logging import CATEGORIES, redact
from flask_core.timestamps import rfc3339_exact

GENESIS_HASH = "0" * 64


class AuditSink(Protocol):
    """Where components record audit events (the router's ``AuditTrail``)."""

    def record(
        self,
        category: str,
        action: str,
        result: str,
        *,
        community: str | None = None,
        user: str | None = None,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None: ...


MAX_TEXT = 1024


def clean_text(value: str | None, limit: int = MAX_TEXT) -> str | None:
    """Text PostgreSQL accepts (no NUL, no lone surrogate), bounded in length."""
    if value is None:
        return None
    text = str(value)[:limit].replace("\x00", "\ufffd")
    return text.encode("utf-8", "replace").decode("utf-8")


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value, 4096)
    if isinstance(value, Mapping):
        return {str(clean_text(str(k), 256)): _clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_json(item) for item in value]
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    return clean_text(str(value), 4096)


def clean_details(details: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Redacted, JSON-safe details whose stored form hashes like the original."""
    if not details:
        return None
    cleaned = _clean_json(redact(dict(details)))
    return json.loads(json.dumps(cleaned))  # normalise exactly as it will be read back


@dataclass(frozen=True, slots=True)
class AuditRecord:
    category: str
    action: str
    result: str
    module: str
    version: str
    community: str | None = None
    user: str | None = None
    reason: str | None = None
    correlation_id: str | None = None
    details: dict[str, Any] | None = None
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown audit category {self.category!r}")

    def canonical(self) -> str:
        """The exact text the content hash covers."""
        return json.dumps(
            [
                self.uid,
                rfc3339_exact(self.timestamp),
                self.category,
                self.module,
                self.version,
                self.community,
                self.user,
                self.action,
                self.result,
                self.reason,
                self.correlation_id,
                self.details,
            ],
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )

    def content_hash(self) -> str:
        return hashlib.sha256(self.canonical().encode("utf-8")).hexdigest()

    def to_json(self) -> dict[str, Any]:
        """The spool form (lossless)."""
        return {
            "uid": self.uid,
            "timestamp": rfc3339_exact(self.timestamp),
            "category": self.category,
            "action": self.action,
            "result": self.result,
            "module": self.module,
            "version": self.version,
            "community": self.community,
            "user": self.user,
            "reason": self.reason,
            "correlation_id": self.correlation_id,
            "details": self.details,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AuditRecord:
        moment = datetime.fromisoformat(str(data["timestamp"]).replace("Z", "+00:00"))
        return cls.restored(data, moment)

    @classmethod
    def restored(cls, data: Mapping[str, Any], timestamp: datetime) -> AuditRecord:
        """A record read back (spool line or stored row) with its own uid and moment."""
        return cls(
            category=data["category"],
            action=data["action"],
            result=data["result"],
            module=data["module"],
            version=data["version"],
            community=data.get("community"),
            user=data.get("user"),
            reason=data.get("reason"),
            correlation_id=data.get("correlation_id"),
            details=data.get("details"),
            timestamp=timestamp,
            uid=str(data["uid"]),
        )


def chain_hash(prev_hash: str, content_hash: str) -> str:
    return hashlib.sha256(f"{prev_hash}{content_hash}".encode("ascii")).hexdigest()
