"""PostgreSQL access: an asyncpg pool behind a small DAL, and an ordered SQL migration runner."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import asyncpg

from .logging import get_logger

_log = get_logger("flask_core.database")
# Any fixed 64-bit number shared by every process that migrates the same database.
_MIGRATION_LOCK_ID = 0x526F757465724875

# PostgreSQL out of reach (refused or broken connections, a closing pool, a server shutting
# down or full), as opposed to a statement it answered with an error.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
)


class DatabaseUnavailable(ConnectionError):
    """PostgreSQL cannot be reached; the driver's error is chained as the cause.

    A ``ConnectionError`` (so an ``OSError``): code that already treats ``OSError`` as
    "the database is away" keeps doing so, and a web app can answer it with one 503.
    """


# What the driver's own state machine says when the server went away under a connection (for
# example "cannot switch to state 15; protocol is in the \"failed\" state" while a pool
# connection is reset after PostgreSQL shut down). Its other InternalClientErrors ("another
# operation is in progress") are misuse, not outages, and stay errors.
_BROKEN_PROTOCOL = ('"failed" state', "not connected")


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` says PostgreSQL is out of reach (not that it refused a statement)."""
    if isinstance(error, asyncpg.InternalClientError):
        return any(sign in str(error) for sign in _BROKEN_PROTOCOL)
    return isinstance(error, OUTAGE_ERRORS)


@contextmanager
def _outage_named() -> Iterator[None]:
    try:
        yield
    except DatabaseUnavailable:
        raise
    except (*OUTAGE_ERRORS, asyncpg.InternalClientError) as error:
        if not is_outage(error):
            raise
        raise DatabaseUnavailable(f"PostgreSQL unreachable: {type(error).__name__}") from error


_SERVER_SETTINGS = {"application_name": "router-hub"}
# InternalClientError: what asyncpg raises on a connection the server ended while it was idle.
_CONNECTION_ERRORS = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    TimeoutError,
)
PING_SECONDS = 2.0


class PingConnection:
    """A connection of its own that only answers ``SELECT 1``, opened on first use.

    A ping through the pool paid for the pool: acquiring, and on release the reset query
    (a second round trip) — most of what a health probe cost. Pings take turns (one
    connection runs one query at a time). When the server went away since the last ping, the
    dead connection is replaced once within the same ping, so a database that is back is
    reported connected at once.
    """

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._connection: asyncpg.Connection | None = None
        self._turn = asyncio.Lock()

    async def ping(self) -> bool:
        async with self._turn:
            reused = self._connection is not None and not self._connection.is_closed()
            try:
                return await self._select_one()
            except _CONNECTION_ERRORS:
                if not reused:
                    raise
            return await self._select_one()  # it had died since the last ping: once, fresh

    async def _select_one(self) -> bool:
        if self._connection is None or self._connection.is_closed():
            self._connection = await asyncpg.connect(self._dsn, server_settings=_SERVER_SETTINGS)
        try:
            return await self._connection.fetchval("SELECT 1") == 1
        except BaseException:  # a failed or cut-short query leaves nothing worth reusing
            self._discard()
            raise

    def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.terminate()

    async def close(self) -> None:
        async with self._turn:
            connection, self._connection = self._connection, None
            if connection is not None and not connection.is_closed():
                await connection.close(timeout=PING_SECONDS)


class AsyncDAL:
    """Parameterised queries over an asyncpg pool; SQL text never carries values.

    Every call that cannot reach PostgreSQL raises ``DatabaseUnavailable``.
    """

    def __init__(self, pool: asyncpg.Pool, *, pinger: PingConnection | None = None) -> None:
        self.pool = pool
        self._pinger = pinger

    @classmethod
    async def connect(cls, dsn: str, *, min_size: int = 1, max_size: int = 10) -> AsyncDAL:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            command_timeout=10,
            server_settings=_SERVER_SETTINGS,
        )
        return cls(pool, pinger=PingConnection(dsn))

    async def close(self) -> None:
        try:
            if self._pinger is not None:
                with contextlib.suppress(*_CONNECTION_ERRORS):
                    await self._pinger.close()
        finally:
            await self.pool.close()

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        with _outage_named():
            async with self.pool.acquire() as connection:
                yield connection

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        with _outage_named():
            async with self.pool.acquire() as connection, connection.transaction():
                yield connection

    async def execute(self, query: str, *args: Any) -> str:
        with _outage_named():
            return str(await self.pool.execute(query, *args))

    async def executemany(self, query: str, args: Sequence[Sequence[Any]]) -> None:
        with _outage_named():
            await self.pool.executemany(query, args)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        with _outage_named():
            return list(await self.pool.fetch(query, *args))

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        with _outage_named():
            return await self.pool.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        with _outage_named():
            return await self.pool.fetchval(query, *args)

    async def ping(self) -> bool:
        """Whether the database answers within ``PING_SECONDS`` (a health probe's question)."""
        try:
            async with asyncio.timeout(PING_SECONDS):
                if self._pinger is not None:
                    return await self._pinger.ping()
                return await self.pool.fetchval("SELECT 1") == 1
        except _CONNECTION_ERRORS:
            return False


def migration_files(directory: Path) -> list[Path]:
    """The ``NNNN_name.sql`` files of a directory, in order."""
    return sorted(p for p in directory.glob("*.sql") if p.name[:4].isdigit())


async def migrate(dal: AsyncDAL, directory: Path, *, table: str = "schema_migrations") -> list[str]:
    """Apply each migration not yet recorded, once, under an advisory lock; return the names."""
    if not table.replace("_", "").isalnum():
        raise ValueError(f"bad migration table name {table!r}")
    applied: list[str] = []
    async with dal.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK_ID)
        try:
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {table} ("
                " name text PRIMARY KEY, checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            rows = await conn.fetch(f"SELECT name, checksum FROM {table}")  # noqa: S608 - checked name
            done = {r["name"]: r["checksum"] for r in rows}
            for path in migration_files(directory):
                sql = path.read_text(encoding="utf-8")
                checksum = hashlib.sha256(sql.encode()).hexdigest()
                if path.name in done:
                    if done[path.name] != checksum:
                        _log.warning("migration %s changed after it was applied", path.name)
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(
                        f"INSERT INTO {table} (name, checksum) VALUES ($1, $2)",  # noqa: S608
                        path.name,
                        checksum,
                    )
                applied.append(path.name)
                _log.info("applied migration %s", path.name, extra={"event_type": "SYSTEM"})
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK_ID)
    return applied
