from __future__ import annotations

import itertools
import json

import asyncpg
import pytest
from quart import Quart

from flask_core.database import AsyncDAL, migrate
from router import MIGRATIONS
from router.audit.records import AuditRecord
from router.audit.store import AUDIT_CHAIN_LOCK, AuditStore, prepare
from router.audit.trail import AuditTrail
from router.settings import RouterSettings
from router.state import RouterState
from tests.support.audit import wait_for_records
from tests.support.waiting import wait_until


def _state(app: Quart) -> RouterState:
    state: RouterState = app.extensions["router"]
    return state


async def test_recorded_entries_reach_postgres_chained(app: Quart) -> None:
    state = _state(app)
    for number in range(25):
        state.audit.record("SYSTEM", "test.tick", "ok", details={"n": number, "api_key": "s3"})
    assert await wait_for_records(state, 25) == 25
    rows = await state.dal.fetch(
        "SELECT details::text AS d, prev_hash, hash FROM audit_log ORDER BY id"
    )
    assert all("s3" not in row["d"] for row in rows)
    for earlier, later in itertools.pairwise(rows):
        assert later["prev_hash"] == earlier["hash"]
    result = await AuditStore(state.dal).verify()
    assert (result.ok, result.checked, result.first_bad_id) == (True, 25, None)


async def test_updates_and_deletes_are_refused_by_the_database(app: Quart) -> None:
    state = _state(app)
    state.audit.record("SYSTEM", "test.tick", "ok")
    await wait_for_records(state, 1)
    for statement in (
        "UPDATE audit_log SET result = 'x'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(asyncpg.RaiseError):
            await state.dal.execute(statement)


async def test_a_full_queue_drops_counts_and_audits_the_overflow(
    settings: RouterSettings,
) -> None:
    trail = AuditTrail("router", "test", max_queue=5)
    for number in range(8):
        trail.record("SYSTEM", "test.flood", "ok", details={"n": number})
    assert trail.dropped == 3 and trail.backlog == 5
    assert settings.database_url
    dal = await AsyncDAL.connect(settings.database_url, max_size=2)
    try:
        await migrate(dal, MIGRATIONS)
        await trail.start(AuditStore(dal), settings.data_dir / "spool")
        await trail.close()
        rows = await dal.fetch("SELECT action, details::text AS d FROM audit_log ORDER BY id")
    finally:
        await dal.close()
    assert [row["action"] for row in rows] == ["test.flood"] * 5 + ["audit.overflow"]
    assert rows[-1]["d"] == '{"dropped": 3}'


async def test_records_with_unstorable_text_are_cleaned_not_lost(app: Quart) -> None:
    state = _state(app)
    state.audit.record(
        "SYSTEM",
        "test.odd\x00",
        "ok\ud800",
        reason="r" * 5000,
        details={"k\ud800": ["\x00", 1.5, float("nan"), {"deep": "é"}], "n": 2**70},
    )
    assert await wait_for_records(state, 1) == 1
    row = await state.dal.fetchrow("SELECT action, result, reason FROM audit_log")
    assert row is not None and row["action"] == "test.odd\ufffd" and row["result"] == "ok?"
    assert len(row["reason"]) == 1024
    assert (await AuditStore(state.dal).verify()).ok


async def test_what_a_stalled_writer_holds_is_spooled_in_order_when_it_is_stopped(
    settings: RouterSettings,
) -> None:
    """The writer takes the next batch while one is in PostgreSQL; stopped while another
    writer holds the chain lock, it leaves both batches and the queue on disk, in order."""
    assert settings.database_url
    spool = settings.data_dir / "spool"
    dal = await AsyncDAL.connect(settings.database_url, max_size=3)
    trail = AuditTrail("router", "test", batch_size=10)
    try:
        await migrate(dal, MIGRATIONS)
        async with dal.transaction() as other_writer:
            await other_writer.execute("SELECT pg_advisory_xact_lock($1)", AUDIT_CHAIN_LOCK)
            await trail.start(AuditStore(dal), spool)
            for number in range(25):
                trail.record("SYSTEM", "test.stall", "ok", details={"n": number})
            await wait_until(lambda: trail.backlog == 5, what="two batches taken")
            await trail.close(grace=0.2)
        assert await dal.fetchval("SELECT count(*) FROM audit_log") == 0
    finally:
        await dal.close()
    lines = [line for path in spool.glob("audit-*.ndjson") for line in path.open()]
    assert [json.loads(line)["details"]["n"] for line in lines] == list(range(25))


async def test_a_stored_record_offered_as_unseen_is_refused_not_doubled(
    settings: RouterSettings,
) -> None:
    assert settings.database_url
    dal = await AsyncDAL.connect(settings.database_url, max_size=2)
    try:
        await migrate(dal, MIGRATIONS)
        store = AuditStore(dal)
        record = AuditRecord("SYSTEM", "test.once", "ok", module="router", version="0")
        assert await store.append([record]) == 1
        with pytest.raises(asyncpg.UniqueViolationError):
            await store.append_prepared(await prepare([record]), unseen=True)
        assert await store.append([record]) == 0  # the spool's replay skips it
        assert (await store.verify()).checked == 1
    finally:
        await dal.close()
