"""``admin modules``, ``breakers``, ``deadletters`` and ``audit`` against a real router."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from quart import Quart
from quart.typing import TestClientProtocol

from router.state import RouterState
from tests.support.audit import wait_for_records
from tests.support.keys import KeyFactory
from tests.support.standin import registration

from .conftest import Cli


def _state(app: Quart) -> RouterState:
    state: RouterState = app.extensions["router"]
    return state


async def _register(client: TestClientProtocol, key: str) -> None:
    body = registration("echo", "http://127.0.0.1:9", instance_id="i1")
    response = await client.post("/api/v1/register", json=body, headers={"X-API-Key": key})
    assert response.status_code in (200, 201), await response.get_data()


async def test_modules_list_show_and_breaker_reset(
    cli: Cli, client: TestClientProtocol, api_key: KeyFactory
) -> None:
    await _register(client, cli.key)
    listed = await cli.ok("modules", "list")
    assert listed.out.splitlines()[0].split()[:2] == ["MODULE_ID", "MODULE_TYPE"]
    assert "echo" in listed.out and "/1 healthy" in listed.out
    shown = await cli.ok("modules", "show", "echo")
    assert "INSTANCE_ID" in shown.out and "i1" in shown.out and "closed" in shown.out
    as_json = (await cli.ok("modules", "show", "echo", "--json")).json()
    assert as_json["instances"][0]["breaker"] == "closed"

    reset = (await cli.ok("breakers", "reset", "echo", "i1", "--json")).json()
    assert reset == {
        "module_id": "echo",
        "instance_id": "i1",
        "breaker": "closed",
        "previous": "closed",
    }
    scoped = await api_key("admin", communities=["c1"])
    denied = await cli("breakers", "reset", "echo", "i1", key=scoped)
    assert denied.code == 1 and denied.err.startswith("error: 403 forbidden:")
    missing = await cli("modules", "show", "nope")
    assert missing.code == 1 and missing.err.startswith("error: 404 not_found:")


async def test_deadletters_list_and_replay(cli: Cli, app: Quart) -> None:
    envelope = {"event_id": "e-1", "type": "chat.message", "community_id": "c1"}
    await _state(app).events.deadletters.bury(
        "c1",
        "1-0",
        {b"e": json.dumps(envelope).encode(), b"t": b"chat.message"},
        {"module": "quotes", "attempts": 5, "error": "HTTP 500 from the module"},
    )
    listed = await cli.ok("deadletters", "list", "--community", "c1")
    assert "quotes" in listed.out and "HTTP 500 from the module" in listed.out
    items = (await cli.ok("deadletters", "list", "--community", "c1", "--json")).json()
    assert [item["event_id"] for item in items] == ["e-1"]

    replayed = (await cli.ok("deadletters", "replay", items[0]["id"], "--json")).json()
    assert replayed["id"] == items[0]["id"] and replayed["replayed_as"]
    assert (await cli.ok("deadletters", "list", "--community", "c1", "--json")).json() == []
    gone = await cli("deadletters", "replay", items[0]["id"])
    assert gone.code == 1 and gone.err.startswith("error: 404")


async def test_audit_query_export_and_verify(cli: Cli, app: Quart, tmp_path: Path) -> None:
    for n in range(3):
        await cli.ok("communities", "create", f"Community {n}", "--id", f"c{n}")
    assert await wait_for_records(_state(app), 3) >= 3

    page = await cli.ok("audit", "query", "--category", "AUDIT", "--limit", "2")
    assert page.out.splitlines()[0].split()[:3] == ["ID", "TIMESTAMP", "CATEGORY"]
    assert len(page.out.splitlines()) == 3 and "more: add --cursor" in page.err
    every = (await cli.ok("audit", "query", "--category", "AUDIT", "--all", "--json")).json()
    assert len(every) == 3 and {r["community"] for r in every} == {"c0", "c1", "c2"}
    one = (await cli.ok("audit", "query", "--community", "c1", "--json")).json()
    assert [r["community"] for r in one["items"]] == ["c1"]

    target = tmp_path / "audit.csv"
    await cli.ok("audit", "export", "--format", "csv", "--output", str(target))
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert {row["community"] for row in rows if row["category"] == "AUDIT"} == {"c0", "c1", "c2"}
    ndjson = await cli.ok("audit", "export", "--category", "AUDIT")
    assert len([json.loads(line) for line in ndjson.out.splitlines()]) == 3

    verified = await cli.ok("audit", "verify")
    assert verified.out.startswith("chain intact:")
    assert (await cli.ok("audit", "verify", "--json")).json()["ok"] is True


async def test_audit_verify_is_refused_to_a_scoped_admin(cli: Cli, api_key: KeyFactory) -> None:
    scoped = await api_key("admin", communities=["c1"])
    denied = await cli("audit", "verify", key=scoped)
    assert denied.code == 1 and denied.err.startswith("error: 403 forbidden:")
    invalid = await cli("audit", "query", "--since", "yesterday")
    assert invalid.code == 1 and "since" in invalid.err


async def test_audit_stats_table_and_json(cli: Cli, app: Quart) -> None:
    for n in range(2):
        await cli.ok("communities", "create", f"Community {n}", "--id", f"s{n}")
    await wait_for_records(_state(app), 2)
    table = await cli.ok("audit", "stats", "--bucket", "hour")
    header, *rows = table.out.splitlines()
    assert header.split() == ["START", "AUTH", "AUTHZ", "AUDIT", "ERROR", "SYSTEM"]
    assert len(rows) in (24, 25) and sum(int(row.split()[3]) for row in rows) >= 2
    stats = (
        await cli.ok("audit", "stats", "--bucket", "minute", "--community", "s1", "--json")
    ).json()
    assert sum(b["counts"]["AUDIT"] for b in stats["buckets"]) == 1
    refused = await cli(
        "audit", "stats", "--since", "2026-01-02T00:00:00Z", "--until", "2026-01-01T00:00:00Z"
    )
    assert refused.code == 1 and refused.err.startswith("error: 400 invalid_input:")
