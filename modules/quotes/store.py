"""Quotes in PostgreSQL; every query is filtered by the caller's community."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from flask_core.database import AsyncDAL, migrate
from flask_core.timestamps import rfc3339

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATIONS_TABLE = "quotes_schema_migrations"


@dataclass(frozen=True, slots=True)
class Quote:
    number: int
    text: str
    added_by: str
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "text": self.text,
            "added_by": self.added_by,
            "created_at": rfc3339(self.created_at),
        }


def _quote(row: asyncpg.Record) -> Quote:
    return Quote(row["number"], row["text"], row["added_by"], row["created_at"])


class QuoteStore:
    def __init__(self, dal: AsyncDAL) -> None:
        self.dal = dal

    @classmethod
    async def open(cls, database_url: str) -> QuoteStore:
        dal = await AsyncDAL.connect(database_url, max_size=5)
        await migrate(dal, MIGRATIONS, table=MIGRATIONS_TABLE)
        return cls(dal)

    async def close(self) -> None:
        await self.dal.close()

    async def add(self, community_id: str, text: str, added_by: str) -> Quote:
        async with self.dal.transaction() as conn:
            # Numbering is per community: serialise adds within one community only.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", community_id)
            row = await conn.fetchrow(
                "INSERT INTO quotes (community_id, number, text, added_by)"
                " SELECT $1, COALESCE(MAX(number), 0) + 1, $2, $3"
                " FROM quotes WHERE community_id = $1"
                " RETURNING number, text, added_by, created_at",
                community_id,
                text,
                added_by,
            )
        assert row is not None
        return _quote(row)

    async def get(self, community_id: str, number: int) -> Quote | None:
        row = await self.dal.fetchrow(
            "SELECT number, text, added_by, created_at FROM quotes"
            " WHERE community_id = $1 AND number = $2",
            community_id,
            number,
        )
        return _quote(row) if row else None

    async def random(self, community_id: str) -> Quote | None:
        row = await self.dal.fetchrow(
            "SELECT number, text, added_by, created_at FROM quotes"
            " WHERE community_id = $1 ORDER BY random() LIMIT 1",
            community_id,
        )
        return _quote(row) if row else None

    async def list(self, community_id: str, *, limit: int, offset: int) -> list[Quote]:
        rows = await self.dal.fetch(
            "SELECT number, text, added_by, created_at FROM quotes"
            " WHERE community_id = $1 ORDER BY number LIMIT $2 OFFSET $3",
            community_id,
            limit,
            offset,
        )
        return [_quote(row) for row in rows]

    async def ping(self) -> bool:
        return await self.dal.ping()
