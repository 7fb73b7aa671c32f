from __future__ import annotations

import json
from dataclasses import replace

from router.app import create_app
from router.audit.spool import AuditSpool
from router.audit.store import AuditStore
from router.settings import RouterSettings
from router.state import RouterState
from tests.support.audit import wait_for_records
from tests.support.proxy import PostgresProxy
from tests.support.waiting import wait_until


async def _flow(client: object, tag: str, count: int) -> list[str]:
    ids = [f"{tag}-{number}" for number in range(count)]
    for number, request_id in enumerate(ids):
        # Each from its own address: repeated failures of one address are folded (SPEC §10).
        address = f"10.{ord(tag[0])}.{number // 250}.{number % 250 + 1}"
        response = await client.get(  # type: ignore[attr-defined]
            "/api/v1/admin/keys",
            headers={"X-Request-ID": request_id},
            scope_base={"client": (address, 40000)},
        )
        assert response.status_code == 401
    return ids


async def test_records_survive_a_database_outage_in_order(settings: RouterSettings) -> None:
    assert settings.database_url
    async with PostgresProxy(settings.database_url) as proxy:
        application = create_app(replace(settings, database_url=proxy.url))
        async with application.test_app():
            state: RouterState = application.extensions["router"]
            state.audit.retry_interval = 0.1
            client = application.test_client()
            expected = await _flow(client, "before", 5)
            assert await wait_for_records(state, 5) == 5
            await proxy.cut()
            expected += await _flow(client, "during", 40)
            spool_folder = settings.data_dir / "spool" / "audit"

            def spooled() -> list[str]:
                files = spool_folder.glob("audit-*.ndjson")
                return [line for p in files for line in p.read_text().splitlines()]

            # The writer may hold a prepared batch for a moment after the queue is empty.
            await wait_until(lambda: len(spooled()) >= 40, what="the records spooled")
            assert len(spooled()) == 40
            assert state.audit.backlog == 0
            await proxy.start()
            expected += await _flow(client, "after", 5)
            assert await wait_for_records(state, 50) == 50
            rows = await state.dal.fetch("SELECT correlation_id FROM audit_log ORDER BY id")
            assert [row["correlation_id"] for row in rows] == expected
            result = await AuditStore(state.dal).verify()
            assert (result.ok, result.checked) == (True, 50)


async def test_queue_is_drained_to_the_spool_on_shutdown_and_adopted_later(
    settings: RouterSettings,
) -> None:
    assert settings.database_url
    async with PostgresProxy(settings.database_url) as proxy:
        application = create_app(replace(settings, database_url=proxy.url))
        async with application.test_app():
            state: RouterState = application.extensions["router"]
            await proxy.cut()
            for number in range(30):
                state.audit.record("SYSTEM", "test.shutdown", "ok", details={"n": number})
        # the app is closed: everything is on disk, nothing in PostgreSQL
    files = list((settings.data_dir / "spool" / "audit").glob("audit-*.ndjson"))
    assert len(files) == 1
    assert [json.loads(x)["details"]["n"] for x in files[0].read_text().splitlines()] == list(
        range(30)
    )
    application = create_app(settings)
    async with application.test_app():
        state = application.extensions["router"]
        assert await wait_for_records(state, 30) == 30
        rows = await state.dal.fetch("SELECT details::text AS d FROM audit_log ORDER BY id")
        assert [json.loads(r["d"])["n"] for r in rows] == list(range(30))
    assert not [
        p
        for p in (settings.data_dir / "spool" / "audit").glob("audit-*.ndjson")
        if p.stat().st_size
    ]


async def test_a_live_writers_spool_is_left_alone(settings: RouterSettings) -> None:
    live = AuditSpool(settings.data_dir / "spool" / "audit")
    await live.open()
    try:
        from router.audit.records import AuditRecord

        await live.append([AuditRecord("SYSTEM", "x", "ok", module="router", version="0")])
        other = AuditSpool(settings.data_dir / "spool" / "audit")
        await other.open()
        assert not other.pending and live.path.exists()
        await other.close()
    finally:
        await live.close()
