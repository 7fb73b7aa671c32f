"""GET /openapi.json describes every route of the contract, with guards and body schemas."""

from __future__ import annotations

from quart.typing import TestClientProtocol

SPEC_ROUTES = {
    ("get", "/health"),
    ("get", "/ready"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/.well-known/jwks.json"),
    ("post", "/api/v1/register"),
    ("post", "/api/v1/modules/{module_id}/instances/{instance_id}/heartbeat"),
    ("delete", "/api/v1/modules/{module_id}/instances/{instance_id}"),
    ("get", "/api/v1/modules"),
    ("get", "/api/v1/modules/{module_id}"),
    ("get", "/api/v1/health/services"),
    *(
        (m, "/api/v1/services/{module_id}/{path}")
        for m in ("get", "post", "put", "patch", "delete")
    ),
    ("post", "/api/v1/events"),
    ("post", "/api/v1/events/batch"),
    ("post", "/api/v1/action/{action_id}"),
    ("post", "/api/v1/responses"),
    ("get", "/api/v1/communities/resolve"),
    ("post", "/api/v1/admin/communities"),
    ("get", "/api/v1/admin/communities"),
    ("post", "/api/v1/admin/communities/{community_id}/channels"),
    ("post", "/api/v1/admin/keys"),
    ("get", "/api/v1/admin/keys"),
    ("get", "/api/v1/admin/keys/{key_id}"),
    ("delete", "/api/v1/admin/keys/{key_id}"),
    ("post", "/api/v1/admin/keys/{key_id}/rotate"),
    ("get", "/api/v1/admin/audit"),
    ("get", "/api/v1/admin/audit/export"),
    ("get", "/api/v1/admin/audit/verify"),
    ("get", "/api/v1/admin/audit/stats"),
    ("get", "/api/v1/admin/communities/{community_id}"),
    ("delete", "/api/v1/admin/communities/{community_id}"),
    ("delete", "/api/v1/admin/communities/{community_id}/channels/{platform}/{channel_id}"),
    ("get", "/admin/"),
}


async def test_every_contract_route_is_described(client: TestClientProtocol) -> None:
    spec = await (await client.get("/openapi.json")).get_json()
    assert spec["openapi"].startswith("3.")
    described = {(m, path) for path, ops in spec["paths"].items() for m in ops}
    assert described >= SPEC_ROUTES
    assert all(
        path.startswith(
            ("/api/v1/", "/health", "/ready", "/metrics", "/openapi", "/.well-known", "/admin")
        )
        for _, path in described
    )


async def test_guards_and_bodies_are_documented(client: TestClientProtocol) -> None:
    paths = (await (await client.get("/openapi.json")).get_json())["paths"]
    events = paths["/api/v1/events"]["post"]
    assert events["security"] == [{"ApiKey": []}]
    assert sorted(events["x-roles"]) == ["core", "trigger"]
    header = next(p for p in events["parameters"] if p["name"] == "X-Community-ID")
    assert header["required"] is True
    assert paths["/health"]["get"]["security"] == []
    register = paths["/api/v1/register"]["post"]["requestBody"]
    schema = register["content"]["application/json"]["schema"]
    assert register["required"] is True
    assert "module_id" in schema["required"] and "module_type" not in schema["required"]
    proxy = paths["/api/v1/services/{module_id}/{path}"]["get"]
    assert sorted(proxy["x-roles"]) == ["action", "admin", "core", "trigger", "user"]
    assert schema["properties"]["module_id"]["pattern"] == "^[a-z][a-z0-9_-]{1,62}$"
    assert schema["properties"]["actions"]["type"] == "array"
