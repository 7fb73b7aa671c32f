from __future__ import annotations

from quart.typing import TestClientProtocol

from tests.support.keys import KeyFactory


async def _post(client: TestClientProtocol, key: str, path: str, body: object) -> tuple[int, dict]:
    response = await client.post(path, json=body, headers={"X-API-Key": key})
    return response.status_code, await response.get_json()


async def test_create_list_and_resolve(client: TestClientProtocol, api_key: KeyFactory) -> None:
    admin = await api_key("admin")
    status, created = await _post(
        client, admin, "/api/v1/admin/communities", {"id": "c1", "name": "One"}
    )
    assert status == 201 and created["id"] == "c1" and created["name"] == "One"
    status, generated = await _post(client, admin, "/api/v1/admin/communities", {"name": "Anon"})
    assert status == 201 and generated["id"]
    status, _ = await _post(client, admin, "/api/v1/admin/communities", {"id": "c1", "name": "x"})
    assert status == 409
    listed = await client.get("/api/v1/admin/communities", headers={"X-API-Key": admin})
    assert {item["id"] for item in (await listed.get_json())["items"]} == {"c1", generated["id"]}

    channel = {"platform": "twitch", "channel_id": "44429626"}
    status, body = await _post(client, admin, "/api/v1/admin/communities/c1/channels", channel)
    assert status == 201 and body["community_id"] == "c1"
    status, _ = await _post(client, admin, "/api/v1/admin/communities/c1/channels", channel)
    assert status == 200
    other = f"/api/v1/admin/communities/{generated['id']}/channels"
    status, problem = await _post(client, admin, other, channel)
    assert status == 409 and problem["error"] == "conflict"
    status, _ = await _post(client, admin, "/api/v1/admin/communities/nope/channels", channel)
    assert status == 404

    trigger = await api_key("trigger")
    resolved = await client.get(
        "/api/v1/communities/resolve?platform=twitch&channel_id=44429626",
        headers={"X-API-Key": trigger},
    )
    assert resolved.status_code == 200
    assert await resolved.get_json() == {"community_id": "c1"}
    missing = await client.get(
        "/api/v1/communities/resolve?platform=twitch&channel_id=1", headers={"X-API-Key": trigger}
    )
    assert missing.status_code == 404
    bad = await client.get("/api/v1/communities/resolve", headers={"X-API-Key": trigger})
    assert bad.status_code == 400


async def test_resolve_is_filtered_by_the_key_scope(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    for community in ("c1", "c2"):
        await _post(client, admin, "/api/v1/admin/communities", {"id": community, "name": "n"})
        await _post(
            client,
            admin,
            f"/api/v1/admin/communities/{community}/channels",
            {"platform": "discord", "channel_id": f"chan-{community}"},
        )
    scoped = await api_key("trigger", communities=["c1"])
    url = "/api/v1/communities/resolve?platform=discord&channel_id="
    own = await client.get(url + "chan-c1", headers={"X-API-Key": scoped})
    foreign = await client.get(url + "chan-c2", headers={"X-API-Key": scoped})
    assert own.status_code == 200
    assert foreign.status_code == 404
    body = await foreign.get_json()
    assert "community_id" not in body and '"c2"' not in (await foreign.get_data()).decode()


async def test_scoped_admin_sees_and_changes_only_its_communities(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    root = await api_key("admin")
    for community in ("c1", "c2"):
        await _post(client, root, "/api/v1/admin/communities", {"id": community, "name": "n"})
    scoped = await api_key("admin", communities=["c1", "c3"])
    listed = await client.get("/api/v1/admin/communities", headers={"X-API-Key": scoped})
    assert [item["id"] for item in (await listed.get_json())["items"]] == ["c1"]
    channel = {"platform": "twitch", "channel_id": "9"}
    status, _ = await _post(client, scoped, "/api/v1/admin/communities/c2/channels", channel)
    assert status == 404
    status, _ = await _post(client, scoped, "/api/v1/admin/communities", {"name": "anon"})
    assert status == 403
    status, _ = await _post(client, scoped, "/api/v1/admin/communities", {"id": "c9", "name": "x"})
    assert status == 403
    status, _ = await _post(client, scoped, "/api/v1/admin/communities", {"id": "c3", "name": "x"})
    assert status == 201
    narrowed = await client.get(
        "/api/v1/admin/communities", headers={"X-API-Key": root, "X-Community-ID": "c2"}
    )
    assert [item["id"] for item in (await narrowed.get_json())["items"]] == ["c2"]
