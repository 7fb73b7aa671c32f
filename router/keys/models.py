"""The API key record and its public face."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_core.auth import GLOBAL_SCOPE, Principal
from flask_core.timestamps import rfc3339


def _rfc3339(moment: datetime | None) -> str | None:
    return None if moment is None else rfc3339(moment)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One stored key (never the plaintext; the hash stays out of every rendering)."""

    id: str
    prefix: str
    key_hash: bytes
    name: str
    role: str
    communities: tuple[str, ...]
    module_id: str | None
    rate_limit: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ApiKey:
        return cls(
            id=str(row["id"]),
            prefix=row["prefix"],
            key_hash=bytes(row["key_hash"]),
            name=row["name"],
            role=row["role"],
            communities=tuple(row["communities"]),
            module_id=row["module_id"],
            rate_limit=row["rate_limit"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            last_used_at=row["last_used_at"],
            revoked_at=row["revoked_at"],
        )

    @property
    def is_global(self) -> bool:
        return GLOBAL_SCOPE in self.communities

    def usable_at(self, moment: datetime) -> bool:
        """Whether the key authenticates at ``moment`` (not revoked, not expired)."""
        if self.revoked_at is not None and self.revoked_at <= moment:
            return False
        return self.expires_at is None or moment < self.expires_at

    def principal(self) -> Principal:
        return Principal(
            key_id=self.id,
            name=self.name,
            role=self.role,
            communities=self.communities,
            module_id=self.module_id,
            rate_limit=self.rate_limit,
        )

    def public(self) -> dict[str, Any]:
        """The key object of SPEC §9: never the secret, never the hash."""
        return {
            "id": self.id,
            "prefix": self.prefix,
            "name": self.name,
            "role": self.role,
            "communities": list(self.communities),
            "module_id": self.module_id,
            "rate_limit": self.rate_limit,
            "created_at": _rfc3339(self.created_at),
            "expires_at": _rfc3339(self.expires_at),
            "last_used_at": _rfc3339(self.last_used_at),
            "revoked_at": _rfc3339(self.revoked_at),
        }


@dataclass(frozen=True, slots=True)
class NewKey:
    """What a caller asks for when minting a key."""

    name: str
    role: str
    communities: tuple[str, ...] = (GLOBAL_SCOPE,)
    module_id: str | None = None
    rate_limit: str | None = None
    expires_at: datetime | None = None
