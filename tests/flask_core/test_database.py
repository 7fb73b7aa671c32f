from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from flask_core.database import PING_SECONDS, AsyncDAL, PingConnection, is_outage, migrate


def write_migrations(directory: Path) -> None:
    directory.mkdir()
    (directory / "0001_things.sql").write_text("CREATE TABLE things (id int PRIMARY KEY);")
    (directory / "0002_more.sql").write_text("ALTER TABLE things ADD COLUMN name text;")


async def test_migrations_apply_once_in_order(database_url: str, tmp_path: Path) -> None:
    write_migrations(tmp_path / "m")
    dal = await AsyncDAL.connect(database_url)
    try:
        assert await migrate(dal, tmp_path / "m") == ["0001_things.sql", "0002_more.sql"]
        assert await migrate(dal, tmp_path / "m") == []
        await dal.execute("INSERT INTO things (id, name) VALUES ($1, $2)", 1, "one")
        assert await dal.fetchval("SELECT name FROM things WHERE id = $1", 1) == "one"
    finally:
        await dal.close()


async def test_concurrent_migrators_do_not_collide(database_url: str, tmp_path: Path) -> None:
    write_migrations(tmp_path / "m")
    dals = [await AsyncDAL.connect(database_url) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrate(dal, tmp_path / "m") for dal in dals))
        assert sorted(len(applied) for applied in results) == [0, 0, 0, 2]
    finally:
        for dal in dals:
            await dal.close()


async def test_transaction_rolls_back(database_url: str, tmp_path: Path) -> None:
    write_migrations(tmp_path / "m")
    dal = await AsyncDAL.connect(database_url)
    try:
        await migrate(dal, tmp_path / "m")
        try:
            async with dal.transaction() as connection:
                await connection.execute("INSERT INTO things (id) VALUES (7)")
                raise RuntimeError("abort")
        except RuntimeError:
            pass
        assert await dal.fetchval("SELECT count(*) FROM things") == 0
    finally:
        await dal.close()


def test_a_broken_protocol_is_an_outage_and_misuse_is_not() -> None:
    gone = asyncpg.InternalClientError(
        'cannot switch to state 15; protocol is in the "failed" state'
    )
    busy = asyncpg.InternalClientError(
        "cannot switch to state 12; another operation (11) is in progress"
    )
    assert is_outage(gone)
    assert is_outage(asyncpg.InternalClientError("not connected"))
    assert not is_outage(busy)
    assert is_outage(ConnectionRefusedError())
    assert not is_outage(asyncpg.UniqueViolationError("duplicate key"))


async def _ping_backends(dal: AsyncDAL) -> list[int]:
    rows = await dal.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND query = 'SELECT 1' AND pid <> pg_backend_pid()"
    )
    return [row["pid"] for row in rows]


async def test_pings_share_one_connection_outside_the_pool(database_url: str) -> None:
    dal = await AsyncDAL.connect(database_url, max_size=1)
    try:
        assert all(await asyncio.gather(*(dal.ping() for _ in range(20))))
        assert len(await _ping_backends(dal)) == 1  # the pool's one connection stays free
    finally:
        await dal.close()


async def test_a_ping_after_the_connection_died_reconnects_at_once(database_url: str) -> None:
    dal = await AsyncDAL.connect(database_url)
    try:
        assert await dal.ping()
        [pid] = await _ping_backends(dal)
        assert await dal.fetchval("SELECT pg_terminate_backend($1)", pid)
        assert await dal.ping()
        assert await _ping_backends(dal) != [pid]
    finally:
        await dal.close()


async def test_an_unreachable_database_is_reported_within_the_deadline(database_url: str) -> None:
    dal = await AsyncDAL.connect(database_url)
    unreachable = AsyncDAL(dal.pool, pinger=PingConnection("postgresql://u@127.0.0.1:9/none"))
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert not await unreachable.ping()
        assert loop.time() - started <= PING_SECONDS + 1
    finally:
        await dal.close()
