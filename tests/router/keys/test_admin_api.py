from __future__ import annotations

from quart import Quart
from quart.typing import TestClientProtocol

from router.state import RouterState
from tests.support.keys import KeyFactory
from tests.support.waiting import let_time_pass

KEY_FIELDS = {
    "id",
    "prefix",
    "name",
    "role",
    "communities",
    "module_id",
    "rate_limit",
    "created_at",
    "expires_at",
    "last_used_at",
    "revoked_at",
}


def _state(app: Quart) -> RouterState:
    state: RouterState = app.extensions["router"]
    return state


async def _create(client: TestClientProtocol, admin: str, **body: object) -> dict[str, object]:
    response = await client.post("/api/v1/admin/keys", json=body, headers={"X-API-Key": admin})
    assert response.status_code == 201, await response.get_data()
    created: dict[str, object] = await response.get_json()
    return created


async def test_create_shows_the_secret_once_and_never_again(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    created = await _create(
        client, admin, name="bot", role="trigger", communities=["c1"], rate_limit="20 / minute"
    )
    assert set(created) == KEY_FIELDS | {"key"}
    assert created["rate_limit"] == "20/minute"
    secret = str(created["key"])
    assert secret.startswith(f"rh_{created['prefix']}_") and len(secret) >= 43 + 16
    shown = await client.get(f"/api/v1/admin/keys/{created['id']}", headers={"X-API-Key": admin})
    listed = await client.get("/api/v1/admin/keys", headers={"X-API-Key": admin})
    for response in (shown, listed):
        text = (await response.get_data()).decode()
        assert secret not in text and "hash" not in text
    assert set(await shown.get_json()) == KEY_FIELDS
    assert len((await listed.get_json())["items"]) == 2


async def test_invalid_bodies_are_400(client: TestClientProtocol, api_key: KeyFactory) -> None:
    admin = await api_key("admin")
    bad_bodies: list[object] = [
        {"name": "x", "role": "root"},
        {"name": "", "role": "core"},
        {"name": "x", "role": "core", "communities": ["*", "c1"]},
        {"name": "x", "role": "core", "communities": ["bad id!"]},
        {"name": "x", "role": "core", "rate_limit": "lots"},
        {"name": "x", "role": "core", "expires_at": "2001-01-01T00:00:00Z"},
        {"name": "x", "role": "core", "expires_at": "tomorrow"},
        {"name": "x", "role": "core", "module_id": "Bad Module"},
        ["not", "an", "object"],
    ]
    for body in bad_bodies:
        response = await client.post("/api/v1/admin/keys", json=body, headers={"X-API-Key": admin})
        assert response.status_code == 400, body
        assert (await response.get_json())["error"] == "invalid_input"


async def test_unknown_revoked_and_expired_keys_get_the_same_401(
    app: Quart, client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    revoked = await _create(client, admin, name="r", role="admin")
    expiring = await _create(
        client, admin, name="e", role="admin", expires_at="2999-01-01T00:00:00Z"
    )
    await client.delete(f"/api/v1/admin/keys/{revoked['id']}", headers={"X-API-Key": admin})
    await _state(app).dal.execute(
        "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1::uuid",
        expiring["id"],
    )
    _state(app).keys.authenticator.invalidate()
    bodies = []
    for presented in (str(revoked["key"]), str(expiring["key"]), "rh_000000000000_" + "A" * 43):
        response = await client.get("/api/v1/admin/keys", headers={"X-API-Key": presented})
        assert response.status_code == 401
        body = await response.get_json()
        bodies.append((body["detail"], body["title"], body["error"], body["type"]))
    assert len(set(bodies)) == 1


async def test_revoke_is_204_and_the_key_stops_working(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    victim = await _create(client, admin, name="v", role="core")
    headers = {"X-API-Key": str(victim["key"])}
    resolve = "/api/v1/communities/resolve?platform=twitch&channel_id=1"
    assert (await client.get(resolve, headers=headers)).status_code == 404
    response = await client.delete(
        f"/api/v1/admin/keys/{victim['id']}", headers={"X-API-Key": admin}
    )
    assert response.status_code == 204
    assert (await client.get(resolve, headers=headers)).status_code == 401
    shown = await client.get(f"/api/v1/admin/keys/{victim['id']}", headers={"X-API-Key": admin})
    assert (await shown.get_json())["revoked_at"] is not None


async def test_rotation_keeps_the_old_key_for_the_grace_period(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    old = await _create(client, admin, name="m", role="core", communities=["c1"])
    rotated = await client.post(
        f"/api/v1/admin/keys/{old['id']}/rotate",
        json={"grace_seconds": 1},
        headers={"X-API-Key": admin},
    )
    assert rotated.status_code == 201
    new = await rotated.get_json()
    assert new["key"] != old["key"] and new["communities"] == ["c1"] and new["role"] == "core"
    resolve = "/api/v1/communities/resolve?platform=twitch&channel_id=1"
    for key in (old["key"], new["key"]):
        assert (await client.get(resolve, headers={"X-API-Key": str(key)})).status_code == 404
    await let_time_pass(1.1)  # the 1 s grace period ends
    assert (await client.get(resolve, headers={"X-API-Key": str(old["key"])})).status_code == 401
    assert (await client.get(resolve, headers={"X-API-Key": str(new["key"])})).status_code == 404
    for grace in (-1, 86401, "soon"):
        response = await client.post(
            f"/api/v1/admin/keys/{new['id']}/rotate",
            json={"grace_seconds": grace},
            headers={"X-API-Key": admin},
        )
        assert response.status_code == 400


async def test_scoped_admin_manages_only_its_own_keys(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    root = await api_key("admin")
    scoped = await api_key("admin", communities=["c1"])
    other = await _create(client, root, name="o", role="core", communities=["c2"])
    mine = await _create(client, scoped, name="mine", role="trigger", communities=["c1"])
    headers = {"X-API-Key": scoped}
    listed = await (await client.get("/api/v1/admin/keys", headers=headers)).get_json()
    assert {item["id"] for item in listed["items"]} >= {mine["id"]}
    assert other["id"] not in {item["id"] for item in listed["items"]}
    assert all(item["communities"] == ["c1"] for item in listed["items"])
    for method, path in (
        ("GET", f"/api/v1/admin/keys/{other['id']}"),
        ("DELETE", f"/api/v1/admin/keys/{other['id']}"),
        ("POST", f"/api/v1/admin/keys/{other['id']}/rotate"),
    ):
        response = await client.open(path, method=method, headers=headers, json={})
        assert response.status_code == 404
    for body in (
        {"name": "g", "role": "core"},
        {"name": "g", "role": "core", "communities": ["c1", "c2"]},
        {"name": "a", "role": "admin", "communities": ["c1"]},
    ):
        response = await client.post("/api/v1/admin/keys", json=body, headers=headers)
        assert response.status_code == 403, body


async def test_bootstrap_admin_key_is_created_idempotently(
    settings: object, api_key: KeyFactory
) -> None:
    from dataclasses import replace

    from router.app import create_app

    chosen = "operator-chosen-bootstrap-value-0123456789"
    for _ in range(2):
        application = create_app(replace(settings, bootstrap_admin_key=chosen))  # type: ignore[type-var]
        async with application.test_app():
            client = application.test_client()
            response = await client.get("/api/v1/admin/keys", headers={"X-API-Key": chosen})
            assert response.status_code == 200
            items = (await response.get_json())["items"]
            assert [(i["name"], i["role"], i["communities"]) for i in items] == [
                ("bootstrap-admin", "admin", ["*"])
            ]
