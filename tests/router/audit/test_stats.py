"""``GET /api/v1/admin/audit/stats``: dense buckets per category, scope, roles, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from quart import Quart
from quart.typing import TestClientProtocol

from router.audit.records import AuditRecord
from router.state import RouterState
from tests.support.keys import KeyFactory

STATS = "/api/v1/admin/audit/stats"
HOUR = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


async def _store(app: Quart, *records: tuple[str, str | None, datetime]) -> None:
    """Records with chosen times, appended through the chained store (as the writer does)."""
    state: RouterState = app.extensions["router"]
    await state.audit_store.append(
        [
            AuditRecord(
                category, "test.stats", "ok", "router", "test", community=community, timestamp=at
            )
            for category, community, at in records
        ]
    )


async def _stats(client: TestClientProtocol, key: str, query: str) -> tuple[int, Any]:
    response = await client.get(f"{STATS}?{query}", headers={"X-API-Key": key})
    return response.status_code, await response.get_json()


def _z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _window(start: datetime, end: datetime) -> str:
    return f"since={_z(start)}&until={_z(end)}"


async def test_hourly_buckets_are_dense_and_count_each_category(
    app: Quart, client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    await _store(
        app,
        ("AUTH", None, HOUR + timedelta(minutes=5)),
        ("AUTH", None, HOUR + timedelta(minutes=59, seconds=59)),
        ("AUDIT", "c1", HOUR + timedelta(minutes=30)),
        ("SYSTEM", None, HOUR + timedelta(hours=2, minutes=1)),
        ("ERROR", "c2", HOUR - timedelta(minutes=1)),  # before the range
    )
    status, body = await _stats(
        client,
        admin,
        "bucket=hour&" + _window(HOUR + timedelta(minutes=20), HOUR + timedelta(hours=3)),
    )
    assert status == 200
    assert [b["start"] for b in body["buckets"]] == [
        "2026-03-01T10:00:00.000Z",
        "2026-03-01T11:00:00.000Z",
        "2026-03-01T12:00:00.000Z",
    ]
    first, second, third = (b["counts"] for b in body["buckets"])
    # The range starts inside the first bucket: records before `since` do not count.
    assert first == {"AUTH": 1, "AUTHZ": 0, "AUDIT": 1, "ERROR": 0, "SYSTEM": 0}
    assert second == {"AUTH": 0, "AUTHZ": 0, "AUDIT": 0, "ERROR": 0, "SYSTEM": 0}
    assert third["SYSTEM"] == 1 and sum(third.values()) == 1


async def test_minute_and_day_buckets_and_the_default_range(
    app: Quart, client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    await _store(
        app,
        ("AUTHZ", "c1", HOUR + timedelta(seconds=30)),
        ("AUTHZ", "c1", HOUR + timedelta(days=1)),
    )
    status, minutes = await _stats(
        client, admin, "bucket=minute&" + _window(HOUR, HOUR + timedelta(minutes=3))
    )
    assert status == 200 and [sum(b["counts"].values()) for b in minutes["buckets"]] == [1, 0, 0]
    status, days = await _stats(
        client, admin, "bucket=day&" + _window(HOUR, HOUR + timedelta(days=2))
    )
    assert status == 200 and [b["start"] for b in days["buckets"]] == [
        "2026-03-01T00:00:00.000Z",
        "2026-03-02T00:00:00.000Z",
        "2026-03-03T00:00:00.000Z",
    ]
    assert [b["counts"]["AUTHZ"] for b in days["buckets"]] == [1, 1, 0]
    status, recent = await _stats(client, admin, "")
    assert status == 200 and len(recent["buckets"]) in (24, 25)  # the last day, by hour


async def test_a_scoped_admin_counts_only_its_communities(
    app: Quart, client: TestClientProtocol, api_key: KeyFactory
) -> None:
    await _store(
        app,
        ("AUDIT", "c1", HOUR),
        ("AUDIT", "c2", HOUR),
        ("AUTH", None, HOUR),
    )
    window = _window(HOUR, HOUR + timedelta(hours=1))
    admin = await api_key("admin")
    scoped = await api_key("admin", communities=["c1"])
    assert (await _stats(client, admin, window))[1]["buckets"][0]["counts"]["AUDIT"] == 2
    status, mine = await _stats(client, scoped, window)
    assert status == 200
    assert mine["buckets"][0]["counts"] == {
        "AUTH": 0,
        "AUTHZ": 0,
        "AUDIT": 1,
        "ERROR": 0,
        "SYSTEM": 0,
    }
    assert (await _stats(client, admin, f"{window}&community=c2"))[1]["buckets"][0]["counts"][
        "AUDIT"
    ] == 1
    assert (await _stats(client, scoped, f"{window}&community=c2"))[0] == 403
    for role in ("user", "trigger", "core"):
        assert (await _stats(client, await api_key(role), window))[0] == 403
    assert (await client.get(f"{STATS}?{window}")).status_code == 401


async def test_bad_ranges_and_parameters_are_400(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    for query, field in (
        ("bucket=week", "bucket"),
        ("since=yesterday", "since"),
        (_window(HOUR, HOUR), "since"),
        ("bucket=minute&" + _window(HOUR, HOUR + timedelta(days=30)), "bucket"),
        ("from=2026-01-01T00:00:00Z", "from"),
        ("category=AUTH", "category"),
    ):
        status, problem = await _stats(client, admin, query)
        assert status == 400 and problem["error"] == "invalid_input", query
        assert field in problem["fields"], query
