"""An audit record, its canonical form and the hash chain over it."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from flask_core.logging import CATEGORIES, REDACTED, is_sensitive
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
    if type(value) is str and len(value) <= limit and value.isascii() and "\x00" not in value:
        return value  # the common case, already clean (ASCII holds no surrogate)
    text = str(value)[:limit].replace("\x00", "\ufffd")
    return text.encode("utf-8", "replace").decode("utf-8")


def _clean_json(value: Any) -> Any:
    """``value`` redacted and in exactly the form JSON reads back: plain dicts with text keys,
    lists, text, int, float, bool, None, so the stored details hash like these."""
    if isinstance(value, str):
        return clean_text(value, 4096)
    if isinstance(value, Mapping):
        return {
            str(clean_text(str(k), 256)): REDACTED if is_sensitive(str(k)) else _clean_json(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_clean_json(item) for item in value]
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)  # an IntEnum is written, and read back, as its number
    if isinstance(value, float):
        return float(value) if value == value and abs(value) != float("inf") else str(value)
    return clean_text(str(value), 4096)


def clean_details(details: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Redacted, JSON-safe details whose stored form hashes like the original."""
    if not details:
        return None
    cleaned: dict[str, Any] = _clean_json(details)
    return cleaned


class _RandomBlocks:
    """``os.urandom`` drawn 4 KiB at a time: a record costs one system call less. A forked
    child starts on a block of its own, so two processes never hand out the same bytes."""

    def __init__(self, block_size: int = 4096) -> None:
        self._block_size = block_size
        self._block = b""
        self._offset = 0
        os.register_at_fork(after_in_child=self._forget)

    def take(self, size: int) -> bytes:
        if self._offset + size > len(self._block):
            self._block, self._offset = os.urandom(self._block_size), 0
        start, self._offset = self._offset, self._offset + size
        return self._block[start : self._offset]

    def _forget(self) -> None:
        self._block, self._offset = b"", 0


_RANDOM = _RandomBlocks()


def new_uid() -> str:
    """A random (version 4) UUID as text, exactly as ``str(uuid.uuid4())`` writes one."""
    raw = bytearray(_RANDOM.take(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


# One encoder for every canonical form: json.dumps with options builds a new one per call.
# Cleaned details cannot refer to themselves, so the circular check is skipped (same output).
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False
)


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
    uid: str = field(default_factory=new_uid)

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown audit category {self.category!r}")

    def canonical(self) -> str:
        """The exact text the content hash covers."""
        return _CANONICAL.encode(
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
            ]
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
