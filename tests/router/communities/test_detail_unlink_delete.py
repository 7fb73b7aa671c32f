"""Community detail, channel unlink and community delete (SPEC §8): roles, scope, audit."""

from __future__ import annotations

from typing import Any

from quart import Quart
from quart.typing import TestClientProtocol

from router.state import RouterState
from tests.support.audit import wait_for_records
from tests.support.keys import KeyFactory

BASE = "/api/v1/admin/communities"


async def _call(
    client: TestClientProtocol, key: str, method: str, path: str, body: object = None
) -> tuple[int, Any]:
    response = await client.open(path, method=method, json=body, headers={"X-API-Key": key})
    return response.status_code, await response.get_json()


async def _community(client: TestClientProtocol, admin: str, cid: str, *channels: str) -> None:
    assert (await _call(client, admin, "POST", BASE, {"id": cid, "name": f"name {cid}"}))[0] == 201
    for channel in channels:
        body = {"platform": "twitch", "channel_id": channel}
        assert (await _call(client, admin, "POST", f"{BASE}/{cid}/channels", body))[0] == 201


async def test_detail_lists_the_linked_channels(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    await _community(client, admin, "c1", "100", "200")
    status, body = await _call(client, admin, "GET", f"{BASE}/c1")
    assert status == 200
    assert set(body) == {"id", "name", "created_at", "channels"}
    assert [(c["platform"], c["channel_id"]) for c in body["channels"]] == [
        ("twitch", "100"),
        ("twitch", "200"),
    ]
    assert all(set(c) == {"platform", "channel_id", "linked_at"} for c in body["channels"])
    assert (await _call(client, admin, "GET", f"{BASE}/nope"))[0] == 404


async def test_unlink_frees_the_channel(client: TestClientProtocol, api_key: KeyFactory) -> None:
    admin = await api_key("admin")
    await _community(client, admin, "c1", "100")
    await _community(client, admin, "c2")
    assert (await _call(client, admin, "DELETE", f"{BASE}/c2/channels/twitch/100"))[0] == 404
    assert (await _call(client, admin, "DELETE", f"{BASE}/c1/channels/twitch/100"))[0] == 204
    assert (await _call(client, admin, "DELETE", f"{BASE}/c1/channels/twitch/100"))[0] == 404
    assert (await _call(client, admin, "GET", f"{BASE}/c1"))[1]["channels"] == []
    relinked = await _call(
        client, admin, "POST", f"{BASE}/c2/channels", {"platform": "twitch", "channel_id": "100"}
    )
    assert relinked[0] == 201  # no longer owned by c1


async def test_delete_is_refused_while_active_keys_are_scoped_to_it(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    await _community(client, admin, "c1", "100")
    status, key = await _call(
        client,
        admin,
        "POST",
        "/api/v1/admin/keys",
        {"name": "k", "role": "user", "communities": ["c1"]},
    )
    assert status == 201
    status, problem = await _call(client, admin, "DELETE", f"{BASE}/c1")
    assert status == 409 and problem["error"] == "conflict" and "key" in problem["detail"]
    assert (await _call(client, admin, "DELETE", f"/api/v1/admin/keys/{key['id']}"))[0] == 204

    assert (await _call(client, admin, "DELETE", f"{BASE}/c1"))[0] == 204
    assert (await _call(client, admin, "GET", f"{BASE}/c1"))[0] == 404
    assert (await _call(client, admin, "DELETE", f"{BASE}/c1"))[0] == 404
    trigger = await api_key("trigger")
    resolved = await client.get(
        "/api/v1/communities/resolve?platform=twitch&channel_id=100", headers={"X-API-Key": trigger}
    )
    assert resolved.status_code == 404


async def test_only_admins_and_only_within_their_scope(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    await _community(client, admin, "c1", "100")
    await _community(client, admin, "c2", "200")
    for role in ("user", "trigger", "core"):
        key = await api_key(role)
        for method, path in (
            ("GET", f"{BASE}/c1"),
            ("DELETE", f"{BASE}/c1/channels/twitch/100"),
            ("DELETE", f"{BASE}/c1"),
        ):
            assert (await _call(client, key, method, path))[0] == 403, (role, method, path)
    assert (await client.get(f"{BASE}/c1")).status_code == 401

    scoped = await api_key("admin", communities=["c1"])
    assert (await _call(client, scoped, "GET", f"{BASE}/c1"))[0] == 200
    for method, path in (
        ("GET", f"{BASE}/c2"),
        ("DELETE", f"{BASE}/c2/channels/twitch/200"),
        ("DELETE", f"{BASE}/c2"),
    ):
        assert (await _call(client, scoped, method, path))[0] == 404, (method, path)
    assert (await _call(client, admin, "GET", f"{BASE}/c2"))[1]["channels"] != []
    assert (await _call(client, scoped, "DELETE", f"{BASE}/c1/channels/twitch/100"))[0] == 204
    # The scoped admin's own key is scoped to c1 and active: c1 cannot go yet.
    assert (await _call(client, scoped, "DELETE", f"{BASE}/c1"))[0] == 409


async def test_unlink_and_delete_are_audited(
    app: Quart, client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    await _community(client, admin, "c1", "100")
    assert (await _call(client, admin, "DELETE", f"{BASE}/c1/channels/twitch/100"))[0] == 204
    assert (await _call(client, admin, "DELETE", f"{BASE}/c1"))[0] == 204
    state: RouterState = app.extensions["router"]
    await wait_for_records(state, 4)
    rows = await state.dal.fetch(
        "SELECT action, community, result, details::text AS details FROM audit_log"
        " WHERE category = 'AUDIT' ORDER BY id"
    )
    deletes = [row for row in rows if row["action"].startswith("DELETE")]
    assert [row["community"] for row in deletes] == ["c1", "c1"]
    assert [row["result"] for row in deletes] == ["success", "success"]  # AAA words
    assert all('"status": 204' in row["details"] for row in deletes)
    assert '"channel_id": "100"' in deletes[0]["details"]
