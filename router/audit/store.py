"""SQL for the audit trail: chained batch inserts, filtered newest-first reads, verification."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from flask_core.database import AsyncDAL
from flask_core.timestamps import rfc3339

from .records import GENESIS_HASH, AuditRecord, chain_hash

# Serialises chain extension across every writer process sharing the database.
AUDIT_CHAIN_LOCK = 0x4155444954434841
# Rows go in with binary COPY: per row it costs a fraction of an INSERT over unnest() arrays
# (asyncpg type-checks every array element). The serial id follows the order of the rows.
_COPY_COLUMNS = [
    "uid",
    "timestamp",
    "category",
    "module",
    "version",
    "community",
    "user",
    "action",
    "result",
    "reason",
    "correlation_id",
    "details",
    "content_hash",
    "prev_hash",
    "hash",
]
# Records hashed between two turns of the event loop while a batch is prepared (~1 ms).
_PREPARE_CHUNK = 100
_COLUMNS = (
    'id, uid, "timestamp", category, module, version, community, "user", action, result,'
    " reason, correlation_id, details, content_hash, prev_hash, hash"
)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What a reader asked for; ``communities`` None means every community."""

    communities: Sequence[str] | None = None
    category: str | None = None
    community: str | None = None
    user: str | None = None
    action: str | None = None
    result: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def where(self, before_id: int | None) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []

        def add(template: str, value: Any) -> None:
            args.append(value)
            clauses.append(template.format(f"${len(args)}"))

        if self.communities is not None:
            add("community = ANY({}::text[])", list(self.communities))
        for column, value in (
            ("category", self.category),
            ("community", self.community),
            ('"user"', self.user),
            ("action", self.action),
            ("result", self.result),
        ):
            if value is not None:
                add(f"{column} = {{}}", value)
        if self.since is not None:
            add('"timestamp" >= {}', self.since)
        if self.until is not None:
            add('"timestamp" < {}', self.until)
        if before_id is not None:
            add("id < {}", before_id)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_id: int | None


def _record_of(row: asyncpg.Record) -> AuditRecord:
    data = dict(row)
    if data["details"] is not None:  # stored as JSON text
        data["details"] = json.loads(data["details"])
    return AuditRecord.restored(data, row["timestamp"])


def public_row(row: asyncpg.Record) -> dict[str, Any]:
    """A record as SPEC §10 shows it."""
    record = _record_of(row)
    data = record.to_json()
    del data["uid"]
    # The stored form keeps microseconds (the hash covers them); the wire has one precision.
    data["timestamp"] = rfc3339(record.timestamp)
    return {"id": row["id"], **data}


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """Records with their rows computed up to the chain link, which needs the lock."""

    records: Sequence[AuditRecord]
    rows: list[list[Any]]


async def prepare(records: Sequence[AuditRecord], chunk: int = _PREPARE_CHUNK) -> PreparedBatch:
    """Compute the rows (content hashes included) ``chunk`` records at a time, letting the loop
    run in between: the writer prepares the next batch while the last one is in PostgreSQL."""
    rows: list[list[Any]] = []
    for start in range(0, len(records), chunk):
        if start:
            await asyncio.sleep(0)
        rows.extend(_unchained_row(record) for record in records[start : start + chunk])
    return PreparedBatch(records, rows)


class AuditStore:
    def __init__(self, dal: AsyncDAL) -> None:
        self.dal = dal

    async def append(self, records: Sequence[AuditRecord]) -> int:
        """Extend the chain with ``records`` in order; skip any already stored (spool replays)."""
        return await self.append_prepared(await prepare(records))

    async def append_prepared(self, batch: PreparedBatch, *, unseen: bool = False) -> int:
        """Extend the chain with a prepared batch; skip records already stored, unless
        ``unseen``: straight from the queue, never offered to the database before, so the
        uid lookup is saved (a uid stored after all fails the unique index, and the replay
        from the spool skips it)."""
        if not batch.rows:
            return 0
        async with self.dal.transaction() as conn:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", AUDIT_CHAIN_LOCK)
            rows = batch.rows if unseen else await _not_stored(conn, batch.rows)
            if not rows:
                return 0
            last = await conn.fetchval("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
            await conn.copy_records_to_table(
                "audit_log", records=_chained(rows, last or GENESIS_HASH), columns=_COPY_COLUMNS
            )
        return len(rows)

    async def page(
        self, where: AuditFilter, limit: int, before_id: int | None
    ) -> list[asyncpg.Record]:
        sql_where, args = where.where(before_id)
        args.append(limit)
        return await self.dal.fetch(
            f"SELECT {_COLUMNS} FROM audit_log{sql_where}"  # noqa: S608 - clauses are fixed text
            f" ORDER BY id DESC LIMIT ${len(args)}",
            *args,
        )

    async def stream(
        self, where: AuditFilter, limit: int | None, chunk: int = 500
    ) -> AsyncIterator[asyncpg.Record]:
        """Yield matching rows newest first, ``chunk`` at a time, up to ``limit``."""
        before: int | None = None
        remaining = limit
        while remaining is None or remaining > 0:
            size = chunk if remaining is None else min(chunk, remaining)
            rows = await self.page(where, size, before)
            for row in rows:
                yield row
            if len(rows) < size:
                return
            before = rows[-1]["id"]
            if remaining is not None:
                remaining -= len(rows)

    async def verify(self, chunk: int = 1000) -> VerifyResult:
        """Walk the chain oldest first; report the first row whose hashes do not hold."""
        expected_prev, checked, after = GENESIS_HASH, 0, 0
        while True:
            rows = await self.dal.fetch(
                f"SELECT {_COLUMNS} FROM audit_log WHERE id > $1"  # noqa: S608
                " ORDER BY id LIMIT $2",
                after,
                chunk,
            )
            for row in rows:
                checked += 1
                if not _row_holds(row, expected_prev):
                    return VerifyResult(False, checked, row["id"])
                expected_prev, after = row["hash"], row["id"]
            if len(rows) < chunk:
                return VerifyResult(True, checked, None)


def _row_holds(row: asyncpg.Record, expected_prev: str) -> bool:
    content = _record_of(row).content_hash()
    return (
        row["content_hash"] == content
        and row["prev_hash"] == expected_prev
        and row["hash"] == chain_hash(expected_prev, content)
    )


async def _not_stored(conn: asyncpg.Connection, rows: list[list[Any]]) -> list[list[Any]]:
    stored = await conn.fetch(
        "SELECT uid FROM audit_log WHERE uid = ANY($1::uuid[])", [row[0] for row in rows]
    )
    known = {str(row["uid"]) for row in stored}
    return [row for row in rows if row[0] not in known]


def _unchained_row(record: AuditRecord) -> list[Any]:
    """``record`` in ``_COPY_COLUMNS`` order, its two chain hashes still to be filled in."""
    return [
        record.uid,  # asyncpg encodes a uuid from its text form: no UUID object needed
        record.timestamp,
        record.category,
        record.module,
        record.version,
        record.community,
        record.user,
        record.action,
        record.result,
        record.reason,
        record.correlation_id,
        json.dumps(record.details) if record.details is not None else None,
        record.content_hash(),
        None,
        None,
    ]


def _chained(rows: list[list[Any]], prev_hash: str) -> list[list[Any]]:
    """``rows`` in order, each linked to the one before: ``hash = sha256(prev + content)``."""
    for row in rows:
        row[-2] = prev_hash
        row[-1] = prev_hash = chain_hash(prev_hash, row[-3])
    return rows
