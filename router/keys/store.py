"""SQL for API keys; values always travel as bind parameters."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

import asyncpg

from flask_core import errors
from flask_core.auth import GLOBAL_SCOPE
from flask_core.database import AsyncDAL

from .listing import KeyCursor, KeyQuery
from .material import KeyHasher, generate_key
from .models import ApiKey, NewKey

_COLUMNS = (
    "id, prefix, key_hash, name, role, communities, module_id, rate_limit,"
    " created_at, expires_at, last_used_at, revoked_at"
)
BOOTSTRAP_NAME = "bootstrap-admin"


def parse_key_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


class KeyStore:
    """Create, find, rotate and revoke keys in PostgreSQL."""

    def __init__(self, dal: AsyncDAL, hasher: KeyHasher) -> None:
        self.dal = dal
        self.hasher = hasher

    async def create(self, new: NewKey) -> tuple[ApiKey, str]:
        """Mint a key; return the record and the plaintext (shown once)."""
        plaintext, prefix = generate_key()
        row = await self.dal.fetchrow(
            f"INSERT INTO api_keys (id, prefix, key_hash, name, role, communities, module_id,"  # noqa: S608 - fixed columns
            f" rate_limit, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            f" RETURNING {_COLUMNS}",
            uuid.uuid4(),
            prefix,
            self.hasher.digest(plaintext),
            new.name,
            new.role,
            list(new.communities),
            new.module_id,
            new.rate_limit,
            new.expires_at,
        )
        assert row is not None
        return ApiKey.from_row(row), plaintext

    async def ensure_bootstrap_admin(self, plaintext: str) -> ApiKey:
        """Make ``plaintext`` a usable global admin key (idempotent, safe to race)."""
        try:
            return await self.ensure(plaintext, NewKey(name=BOOTSTRAP_NAME, role="admin"))
        except ValueError:
            raise ValueError(
                "ROUTER_BOOTSTRAP_ADMIN_KEY is empty or longer than 512 characters"
            ) from None

    async def ensure(self, plaintext: str, wanted: NewKey) -> ApiKey:
        """Make ``plaintext`` a usable key exactly as ``wanted`` (idempotent, safe to race).

        A bootstrap key that was revoked or expired is made usable again: its configuration
        says it must exist, and the way to retire it is to change that configuration.
        """
        prefix = self.hasher.prefix_of(plaintext)
        if prefix is None:
            raise ValueError("a bootstrap key is empty or longer than 512 characters")
        row = await self.dal.fetchrow(
            f"INSERT INTO api_keys (id, prefix, key_hash, name, role, communities, module_id)"  # noqa: S608 - fixed columns
            f" VALUES ($1, $2, $3, $4, $5, $6, $7)"
            f" ON CONFLICT (prefix) DO UPDATE SET key_hash = EXCLUDED.key_hash,"
            f" name = EXCLUDED.name, role = EXCLUDED.role, communities = EXCLUDED.communities,"
            f" module_id = EXCLUDED.module_id, revoked_at = NULL, expires_at = NULL"
            f" RETURNING {_COLUMNS}",
            uuid.uuid4(),
            prefix,
            self.hasher.digest(plaintext),
            wanted.name,
            wanted.role,
            list(wanted.communities),
            wanted.module_id,
        )
        assert row is not None
        return ApiKey.from_row(row)

    async def by_prefix(self, prefix: str) -> ApiKey | None:
        row = await self.dal.fetchrow(
            f"SELECT {_COLUMNS} FROM api_keys WHERE prefix = $1",  # noqa: S608 - fixed columns
            prefix,
        )
        return ApiKey.from_row(row) if row else None

    async def usable_or_listed(self, prefixes: Sequence[str]) -> list[ApiKey]:
        """Every usable key, and every key of ``prefixes`` (what the last known keys hold)."""
        rows = await self.dal.fetch(
            f"SELECT {_COLUMNS} FROM api_keys"  # noqa: S608 - fixed columns, bound values
            " WHERE (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()))"
            " OR prefix = ANY($1::text[])",
            list(prefixes),
        )
        return [ApiKey.from_row(row) for row in rows]

    async def get(self, key_id: str) -> ApiKey | None:
        parsed = parse_key_id(key_id)
        if parsed is None:
            return None
        row = await self.dal.fetchrow(
            f"SELECT {_COLUMNS} FROM api_keys WHERE id = $1",  # noqa: S608 - fixed columns
            parsed,
        )
        return ApiKey.from_row(row) if row else None

    async def list(self, within: Sequence[str] | None) -> list[ApiKey]:
        """Every key, or (``within`` given) the keys whose scope lies inside those communities."""
        if within is None:
            rows = await self.dal.fetch(
                f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, id"  # noqa: S608
            )
        else:
            rows = await self.dal.fetch(
                f"SELECT {_COLUMNS} FROM api_keys WHERE communities <@ $1::text[]"  # noqa: S608
                " AND NOT ($2 = ANY(communities)) ORDER BY created_at, id",
                list(within),
                GLOBAL_SCOPE,
            )
        return [ApiKey.from_row(row) for row in rows]

    async def search(self, query: KeyQuery) -> tuple[Sequence[ApiKey], str | None]:
        """One page of the keys ``query`` matches, and the cursor of the next (None at the end)."""
        where, args = query.where()
        rows = await self.dal.fetch(
            f"SELECT {_COLUMNS} FROM api_keys{where}"  # noqa: S608 - fixed columns, bound values
            f" ORDER BY created_at, id LIMIT {int(query.limit) + 1}",
            *args,
        )
        keys = [ApiKey.from_row(row) for row in rows[: query.limit]]
        if len(rows) <= query.limit or not keys:
            return keys, None
        return keys, KeyCursor(keys[-1].created_at, uuid.UUID(keys[-1].id)).encode()

    async def rotate(self, key_id: str, grace_seconds: int) -> tuple[ApiKey, ApiKey, str]:
        """Replace a key with a new one; the old one works for ``grace_seconds`` more."""
        parsed = parse_key_id(key_id)
        if parsed is None:
            raise errors.NotFound("No such key.")
        plaintext, prefix = generate_key()
        async with self.dal.transaction() as conn:
            await self._lock_rotatable(conn, parsed)
            new = await conn.fetchrow(
                f"INSERT INTO api_keys (id, prefix, key_hash, name, role, communities,"  # noqa: S608
                f" module_id, rate_limit, expires_at) SELECT $1, $2, $3, name, role, communities,"
                f" module_id, rate_limit, expires_at FROM api_keys WHERE id = $4"
                f" RETURNING {_COLUMNS}",
                uuid.uuid4(),
                prefix,
                self.hasher.digest(plaintext),
                parsed,
            )
            assert new is not None
            retired = await conn.fetchrow(
                f"UPDATE api_keys SET rotated_to = $2, expires_at = LEAST("  # noqa: S608
                f"COALESCE(expires_at, 'infinity'), now() + make_interval(secs => $3))"
                f" WHERE id = $1 RETURNING {_COLUMNS}",
                parsed,
                new["id"],
                float(grace_seconds),
            )
            assert retired is not None
        return ApiKey.from_row(retired), ApiKey.from_row(new), plaintext

    @staticmethod
    async def _lock_rotatable(conn: asyncpg.Connection, key_id: uuid.UUID) -> None:
        usable = await conn.fetchval(
            "SELECT revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"
            " FROM api_keys WHERE id = $1 FOR UPDATE",
            key_id,
        )
        if usable is None:
            raise errors.NotFound("No such key.")
        if not usable:
            raise errors.Conflict("A revoked, expired or already rotated key cannot be rotated.")

    async def revoke(self, key_id: str) -> ApiKey | None:
        parsed = parse_key_id(key_id)
        if parsed is None:
            return None
        row = await self.dal.fetchrow(
            f"UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1"  # noqa: S608 - fixed columns
            f" RETURNING {_COLUMNS}",
            parsed,
        )
        return ApiKey.from_row(row) if row else None

    async def record_last_used(self, stamps: Mapping[str, datetime]) -> None:
        """Write many last-use stamps in one statement (never moving a stamp backwards)."""
        if not stamps:
            return
        ids = [uuid.UUID(key_id) for key_id in stamps]
        await self.dal.execute(
            "UPDATE api_keys AS k SET last_used_at = GREATEST(k.last_used_at, u.used_at)"
            " FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, used_at) WHERE k.id = u.id",
            ids,
            list(stamps.values()),
        )
