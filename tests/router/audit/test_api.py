from __future__ import annotations

import csv
import io
import json

import asyncpg
from quart import Quart
from quart.typing import TestClientProtocol

from router.state import RouterState
from tests.support.audit import wait_for_records
from tests.support.keys import KeyFactory
from tests.support.waiting import allow_strays


def _state(app: Quart) -> RouterState:
    state: RouterState = app.extensions["router"]
    return state


async def _seed(app: Quart, count: int) -> None:
    state = _state(app)
    for number in range(count):
        state.audit.record(
            "SYSTEM" if number % 2 else "AUDIT",
            "test.seed",
            "ok",
            community="c1" if number % 3 else "c2",
            details={"n": number},
        )
    await wait_for_records(state, count)


async def test_query_pages_newest_first_with_a_cursor(
    app: Quart, client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    await _seed(app, 30)
    seen: list[int] = []
    url = "/api/v1/admin/audit?action=test.seed&limit=7"
    while url:
        response = await client.get(url, headers={"X-API-Key": admin})
        assert response.status_code == 200
        body = await response.get_json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        url = f"/api/v1/admin/audit?action=test.seed&limit=7&cursor={cursor}" if cursor else ""
    assert len(seen) == 30 and seen == sorted(seen, reverse=True)
    item = body["items"][0]
    assert set(item) == {
        "id",
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
    }


async def test_filters_and_bad_parameters(
    app: Quart, client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    await _seed(app, 12)
    headers = {"X-API-Key": admin}
    response = await client.get(
        "/api/v1/admin/audit?category=SYSTEM&community=c1&limit=1000", headers=headers
    )
    items = (await response.get_json())["items"]
    assert items and all(i["category"] == "SYSTEM" and i["community"] == "c1" for i in items)
    assert len(items) == len([n for n in range(12) if n % 2 and n % 3])
    future = await client.get("/api/v1/admin/audit?since=2999-01-01T00:00:00Z", headers=headers)
    assert (await future.get_json())["items"] == []
    for query in (
        "limit=0",
        "limit=1001",
        "limit=abc",
        "category=NOPE",
        "since=yesterday",
        "cursor=%%%",
        "cursor=Zm9v",
        "community=bad%20id",
    ):
        response = await client.get(f"/api/v1/admin/audit?{query}", headers=headers)
        assert response.status_code == 400, query


async def test_export_streams_ndjson_and_csv(
    app: Quart, client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    await _seed(app, 9)
    headers = {"X-API-Key": admin}
    ndjson = await client.get("/api/v1/admin/audit/export?action=test.seed", headers=headers)
    assert ndjson.status_code == 200
    assert ndjson.content_type.startswith("application/x-ndjson")
    lines = [json.loads(line) for line in (await ndjson.get_data()).decode().splitlines()]
    assert [line["details"]["n"] for line in lines] == list(range(8, -1, -1))
    exported = await client.get(
        "/api/v1/admin/audit/export?format=csv&action=test.seed&limit=4", headers=headers
    )
    rows = list(csv.DictReader(io.StringIO((await exported.get_data()).decode())))
    assert len(rows) == 4 and json.loads(rows[0]["details"]) == {"n": 8}
    bad = await client.get("/api/v1/admin/audit/export?format=xml", headers=headers)
    assert bad.status_code == 400


async def test_scoped_admin_sees_only_its_communities_records(
    app: Quart, client: TestClientProtocol, api_key: KeyFactory
) -> None:
    scoped = await api_key("admin", communities=["c2"])
    await _seed(app, 12)
    headers = {"X-API-Key": scoped}
    body = await (await client.get("/api/v1/admin/audit?limit=1000", headers=headers)).get_json()
    assert body["items"] and {item["community"] for item in body["items"]} == {"c2"}
    exported = await client.get("/api/v1/admin/audit/export", headers=headers)
    communities = {json.loads(x)["community"] for x in (await exported.get_data()).splitlines()}
    assert communities == {"c2"}
    foreign = await client.get("/api/v1/admin/audit?community=c1", headers=headers)
    assert foreign.status_code == 403
    verify = await client.get("/api/v1/admin/audit/verify", headers=headers)
    assert verify.status_code == 403


async def test_verify_reports_the_tampered_row(
    app: Quart, client: TestClientProtocol, api_key: KeyFactory, stores: object
) -> None:
    admin = await api_key("admin")
    await _seed(app, 20)
    headers = {"X-API-Key": admin}
    clean = await (await client.get("/api/v1/admin/audit/verify", headers=headers)).get_json()
    assert clean == {"ok": True, "checked": 20, "first_bad_id": None}
    state = _state(app)
    target = await state.dal.fetchval("SELECT id FROM audit_log ORDER BY id OFFSET 11 LIMIT 1")
    connection = await asyncpg.connect(state.settings.database_url)
    try:
        await connection.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
        await connection.execute("UPDATE audit_log SET result = 'forged' WHERE id = $1", target)
        await connection.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")
    finally:
        await connection.close()
    body = await (await client.get("/api/v1/admin/audit/verify", headers=headers)).get_json()
    assert body == {"ok": False, "checked": 12, "first_bad_id": target}


async def test_denials_and_changes_are_audited_without_secrets(
    app: Quart, client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    user = await api_key("user", communities=["c1"])
    bogus = "rh_0123456789ab_" + "S" * 43
    await client.get("/api/v1/admin/keys", headers={"X-API-Key": bogus})
    await client.get("/api/v1/admin/keys", headers={"X-API-Key": user, "X-Community-ID": "c1"})
    created = await client.post(
        "/api/v1/admin/keys", json={"name": "n", "role": "core"}, headers={"X-API-Key": admin}
    )
    secret = (await created.get_json())["key"]
    state = _state(app)
    await wait_for_records(state, 3)
    rows = await state.dal.fetch(
        'SELECT category, action, result, reason, "user", community, details::text AS d,'
        " (details->>'status')::int AS status FROM audit_log ORDER BY id"
    )
    assert [(r["category"], r["result"], r["status"]) for r in rows] == [
        ("AUTH", "denied", 401),
        ("AUTHZ", "denied", 403),
        ("AUDIT", "success", 201),
    ]
    assert rows[0]["reason"] == "invalid key" and rows[0]["user"] is None
    assert rows[1]["community"] == "c1" and rows[1]["user"].startswith("key:")
    assert rows[2]["action"] == "POST /api/v1/admin/keys"
    dump = " ".join(str(dict(row)) for row in rows)
    for secret_text in (admin, user, bogus, secret, "S" * 43):
        assert secret_text not in dump


async def test_a_forbidden_raised_inside_a_view_is_audited_once(
    app: Quart, client: TestClientProtocol, api_key: KeyFactory
) -> None:
    from quart import g

    from flask_core import errors
    from flask_core.auth import require_api_key

    @app.get("/api/v1/admin/test-refusal")
    @require_api_key("admin")
    async def refuse() -> None:
        raise errors.Forbidden("Not this one.")

    @app.get("/api/v1/admin/test-guarded-refusal")
    @require_api_key("admin")
    async def refuse_after_forbid() -> None:
        assert g.get("deny_reason") is None
        raise errors.Forbidden(reason="already audited")

    admin = await api_key("admin")
    assert (
        await client.get("/api/v1/admin/test-refusal", headers={"X-API-Key": admin})
    ).status_code == 403
    second = await client.get("/api/v1/admin/test-guarded-refusal", headers={"X-API-Key": admin})
    assert second.status_code == 403
    state = _state(app)
    await wait_for_records(state, 2)
    await allow_strays(0.1)  # a refusal audited twice would add its row right after
    rows = await state.dal.fetch("SELECT category, reason, action FROM audit_log ORDER BY id")
    assert [(r["category"], r["reason"]) for r in rows] == [
        ("AUTHZ", "Not this one."),
        ("AUTHZ", "already audited"),
    ]
