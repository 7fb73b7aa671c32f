"""SQL for communities and their channels."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

import asyncpg

from flask_core import errors
from flask_core.database import AsyncDAL
from flask_core.timestamps import rfc3339


def community_json(row: asyncpg.Record) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "created_at": rfc3339(row["created_at"])}


def channel_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "community_id": row["community_id"],
        "platform": row["platform"],
        "channel_id": row["channel_id"],
        "created_at": rfc3339(row["created_at"]),
    }


class CommunityStore:
    def __init__(self, dal: AsyncDAL) -> None:
        self.dal = dal

    async def create(self, community_id: str | None, name: str) -> asyncpg.Record:
        try:
            row = await self.dal.fetchrow(
                "INSERT INTO communities (id, name) VALUES ($1, $2) RETURNING id, name, created_at",
                community_id or f"c{secrets.token_hex(8)}",
                name,
            )
        except asyncpg.UniqueViolationError:
            raise errors.Conflict("A community with this id exists.") from None
        assert row is not None
        return row

    async def list(self, within: Sequence[str] | None) -> list[asyncpg.Record]:
        if within is None:
            return await self.dal.fetch("SELECT id, name, created_at FROM communities ORDER BY id")
        return await self.dal.fetch(
            "SELECT id, name, created_at FROM communities WHERE id = ANY($1::text[]) ORDER BY id",
            list(within),
        )

    async def get(self, community_id: str) -> asyncpg.Record | None:
        return await self.dal.fetchrow(
            "SELECT id, name, created_at FROM communities WHERE id = $1", community_id
        )

    async def exists(self, community_id: str) -> bool:
        return bool(
            await self.dal.fetchval("SELECT 1 FROM communities WHERE id = $1", community_id)
        )

    async def add_channel(
        self, community_id: str, platform: str, channel_id: str
    ) -> tuple[asyncpg.Record, bool]:
        """Map a channel to a community; True when it is new. 409 if another community owns it."""
        row = await self.dal.fetchrow(
            "INSERT INTO community_channels (platform, channel_id, community_id)"
            " VALUES ($1, $2, $3) ON CONFLICT (platform, channel_id) DO NOTHING"
            " RETURNING platform, channel_id, community_id, created_at",
            platform,
            channel_id,
            community_id,
        )
        if row is not None:
            return row, True
        existing = await self.resolve_row(platform, channel_id)
        if existing is None or existing["community_id"] != community_id:
            raise errors.Conflict("This channel belongs to another community.")
        return existing, False

    async def resolve_row(self, platform: str, channel_id: str) -> asyncpg.Record | None:
        return await self.dal.fetchrow(
            "SELECT platform, channel_id, community_id, created_at FROM community_channels"
            " WHERE platform = $1 AND channel_id = $2",
            platform,
            channel_id,
        )

    async def channels(self, community_id: str) -> Sequence[asyncpg.Record]:
        """The channels linked to a community, oldest link first."""
        return await self.dal.fetch(
            "SELECT platform, channel_id, community_id, created_at FROM community_channels"
            " WHERE community_id = $1 ORDER BY created_at, platform, channel_id",
            community_id,
        )

    async def remove_channel(self, community_id: str, platform: str, channel_id: str) -> bool:
        """Unlink a channel from this community; False when it was not linked to it."""
        removed = await self.dal.fetchval(
            "DELETE FROM community_channels"
            " WHERE community_id = $1 AND platform = $2 AND channel_id = $3 RETURNING 1",
            community_id,
            platform,
            channel_id,
        )
        return removed is not None

    async def delete(self, community_id: str) -> bool:
        """Delete a community and its channel links; False when there is no such community.

        Refused (409) while an active key is scoped to it: such a key would keep naming a
        community that no longer exists. Key creation does not lock communities, so a key minted
        for it in the instant between check and delete is not caught: it then names a missing
        community, as a key minted for a community not created yet already may.
        """
        async with self.dal.transaction() as conn:
            in_use = await conn.fetchval(
                "SELECT count(*) FROM api_keys WHERE $1 = ANY(communities)"
                " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())",
                community_id,
            )
            if in_use:
                raise errors.Conflict(
                    f"{in_use} active key(s) are scoped to this community: revoke them first."
                )
            await conn.execute(
                "DELETE FROM community_channels WHERE community_id = $1", community_id
            )
            deleted = await conn.fetchval(
                "DELETE FROM communities WHERE id = $1 RETURNING 1", community_id
            )
        return deleted is not None


def linked_channel_json(row: asyncpg.Record) -> dict[str, Any]:
    """A channel as the community detail shows it (SPEC §8)."""
    return {
        "platform": row["platform"],
        "channel_id": row["channel_id"],
        "linked_at": rfc3339(row["created_at"]),
    }
