"""``GET /api/v1/admin/keys`` filters and cursor paging (SPEC §9): roles and scope."""

from __future__ import annotations

from typing import Any

from quart import Quart
from quart.typing import TestClientProtocol

from router.state import RouterState
from tests.support.keys import KeyFactory

KEYS = "/api/v1/admin/keys"


async def _make(client: TestClientProtocol, admin: str, **body: Any) -> dict[str, Any]:
    response = await client.post(KEYS, json=body, headers={"X-API-Key": admin})
    assert response.status_code == 201, await response.get_data()
    made: dict[str, Any] = await response.get_json()
    return made


async def _names(client: TestClientProtocol, key: str, query: str) -> list[str]:
    response = await client.get(f"{KEYS}?{query}", headers={"X-API-Key": key})
    assert response.status_code == 200, await response.get_data()
    return [item["name"] for item in (await response.get_json())["items"]]


async def test_filters_by_state_role_community_module_and_text(
    app: Quart, client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    await _make(client, admin, name="alpha bot", role="trigger", communities=["c1"])
    await _make(
        client, admin, name="beta_bot", role="action", communities=["c2"], module_id="quotes"
    )
    gone = await _make(client, admin, name="gamma", role="trigger", communities=["c1", "c2"])
    old = await _make(client, admin, name="delta 100%", role="user", communities=["c1"])
    assert (
        await client.delete(f"{KEYS}/{gone['id']}", headers={"X-API-Key": admin})
    ).status_code == 204
    state: RouterState = app.extensions["router"]
    await state.dal.execute(
        "UPDATE api_keys SET expires_at = now() - interval '1 minute' WHERE id = $1::uuid",
        old["id"],
    )

    assert await _names(client, admin, "state=revoked") == ["gamma"]
    assert await _names(client, admin, "state=expired") == ["delta 100%"]
    assert await _names(client, admin, "state=active&role=trigger") == ["alpha bot"]
    assert await _names(client, admin, "community=c2") == ["beta_bot", "gamma"]
    assert await _names(client, admin, "module_id=quotes") == ["beta_bot"]
    assert await _names(client, admin, "q=BOT") == ["alpha bot", "beta_bot"]
    assert await _names(client, admin, "q=_") == ["beta_bot"]  # literal, not a LIKE wildcard
    assert await _names(client, admin, "q=100%25") == ["delta 100%"]
    assert await _names(client, admin, f"q={old['prefix'][:6]}") == ["delta 100%"]
    assert await _names(client, admin, "community=*&role=admin") == ["test-admin-1"]


async def test_pages_follow_the_cursor_to_the_end(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    for n in range(5):
        await _make(client, admin, name=f"k{n}", role="user", communities=["c1"])
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        query = f"limit=2&community=c1{f'&cursor={cursor}' if cursor else ''}"
        page = await (await client.get(f"{KEYS}?{query}", headers={"X-API-Key": admin})).get_json()
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["k0", "k1", "k2", "k3", "k4"]


async def test_bad_and_unknown_parameters_are_400_naming_them(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    for query, field in (
        ("from=2026-01-01", "from"),
        ("state=dormant", "state"),
        ("role=root", "role"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("cursor=bm9wZQ", "cursor"),
        ("community=a%20b", "community"),
        ("module_id=Bad!", "module_id"),
    ):
        response = await client.get(f"{KEYS}?{query}", headers={"X-API-Key": admin})
        problem = await response.get_json()
        assert response.status_code == 400, query
        assert problem["error"] == "invalid_input" and field in problem["fields"], query
        assert field in problem["detail"], query


async def test_only_admins_and_a_scoped_admin_sees_its_own_keys(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    await _make(client, admin, name="one", role="user", communities=["c1"])
    await _make(client, admin, name="two", role="user", communities=["c2"])
    await _make(client, admin, name="both", role="user", communities=["c1", "c2"])
    scoped = await api_key("admin", communities=["c1"])
    assert await _names(client, scoped, "") == ["one", "test-admin-2"]
    assert await _names(client, scoped, "community=c2") == []
    assert await _names(client, scoped, "role=admin") == ["test-admin-2"]
    for role in ("user", "trigger", "action", "core"):
        key = await api_key(role)
        response = await client.get(f"{KEYS}?state=active", headers={"X-API-Key": key})
        assert response.status_code == 403, role
    assert (await client.get(f"{KEYS}?state=active")).status_code == 401
