from __future__ import annotations

import asyncio
import itertools

from quart import Quart

from router.audit.store import AuditStore
from router.state import RouterState


def _state(app: Quart) -> RouterState:
    state: RouterState = app.extensions["router"]
    return state


async def wait_for_records(state: RouterState, count: int, timeout: float = 5.0) -> int:
    deadline = asyncio.get_running_loop().time() + timeout
    found = 0
    while asyncio.get_running_loop().time() < deadline:
        found = await state.dal.fetchval("SELECT count(*) FROM audit_log")
        if found >= count:
            return int(found)
        await asyncio.sleep(0.02)
    return int(found)


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
    import asyncpg
    import pytest

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
