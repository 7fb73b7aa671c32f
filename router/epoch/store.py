"""The epoch remembered in PostgreSQL, which outlives whatever Redis loses."""

from __future__ import annotations

from flask_core.database import AsyncDAL
from flask_core.keyspace import Keyspace


def keyspace_name(keyspace: Keyspace) -> str:
    """Which hub's Redis data a row speaks for: hubs may share a server by namespace or db."""
    return f"{keyspace.namespace or ''}/{keyspace.db}"


class EpochStore:
    """The last epoch the router wrote into Redis, per keyspace."""

    def __init__(self, dal: AsyncDAL, keyspace: Keyspace) -> None:
        self._dal = dal
        self._name = keyspace_name(keyspace)

    async def get(self) -> str | None:
        """The remembered epoch; None when the router never wrote a marker (a first start)."""
        epoch: str | None = await self._dal.fetchval(
            "SELECT epoch FROM redis_epoch WHERE keyspace = $1", self._name
        )
        return epoch

    async def put(self, epoch: str) -> None:
        await self._dal.execute(
            "INSERT INTO redis_epoch (keyspace, epoch) VALUES ($1, $2)"
            " ON CONFLICT (keyspace) DO UPDATE SET epoch = EXCLUDED.epoch, written_at = now()",
            self._name,
            epoch,
        )

    async def adopt(self, epoch: str) -> str:
        """Remember ``epoch`` unless one is remembered already; return the one remembered."""
        remembered: str = await self._dal.fetchval(
            "INSERT INTO redis_epoch (keyspace, epoch) VALUES ($1, $2)"
            " ON CONFLICT (keyspace) DO UPDATE SET epoch = redis_epoch.epoch RETURNING epoch",
            self._name,
            epoch,
        )
        return remembered

    async def communities(self) -> list[str]:
        """Every community PostgreSQL names: its table, and the scopes of keys not revoked
        (events may name a community a key was minted for before it was created)."""
        rows = await self._dal.fetch(
            "SELECT id FROM communities"
            " UNION SELECT unnest(communities) FROM api_keys WHERE revoked_at IS NULL"
        )
        return sorted(row[0] for row in rows if row[0] != "*")
