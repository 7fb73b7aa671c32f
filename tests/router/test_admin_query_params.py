"""Admin list routes accept only the query parameters they declare, and document them all."""

from __future__ import annotations

import pytest
from quart.typing import TestClientProtocol

from tests.support.keys import KeyFactory

DECLARED = {
    "/api/v1/admin/keys": {"state", "role", "community", "module_id", "q", "limit", "cursor"},
    "/api/v1/admin/communities": set(),
    "/api/v1/admin/deadletters": {"community", "module", "limit"},
    "/api/v1/admin/audit": {
        "category",
        "community",
        "user",
        "action",
        "result",
        "since",
        "until",
        "limit",
        "cursor",
    },
    "/api/v1/admin/audit/export": {
        "category",
        "community",
        "user",
        "action",
        "result",
        "since",
        "until",
        "limit",
        "format",
    },
    "/api/v1/admin/audit/verify": set(),
    "/api/v1/admin/audit/stats": {"bucket", "since", "until", "community"},
}


@pytest.mark.parametrize("path", sorted(DECLARED))
async def test_unknown_parameters_are_400_naming_them(
    path: str, client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    response = await client.get(f"{path}?from=2026-01-01&limit2=5", headers={"X-API-Key": admin})
    problem = await response.get_json()
    assert response.status_code == 400
    assert problem["error"] == "invalid_input"
    assert set(problem["fields"]) == {"from", "limit2"}
    assert "from" in problem["detail"] and "limit2" in problem["detail"]
    assert (await client.get(path, headers={"X-API-Key": admin})).status_code == 200


async def test_every_declared_parameter_is_in_the_openapi(client: TestClientProtocol) -> None:
    paths = (await (await client.get("/openapi.json")).get_json())["paths"]
    for path, names in DECLARED.items():
        parameters = paths[path]["get"].get("parameters", [])
        documented = {p["name"] for p in parameters if p["in"] == "query"}
        assert documented == names, path
        assert all(p["schema"] and p["description"] for p in parameters if p["in"] == "query")
    stats = {p["name"]: p for p in paths["/api/v1/admin/audit/stats"]["get"]["parameters"]}
    assert stats["bucket"]["schema"] == {"type": "string", "enum": ["minute", "hour", "day"]}
    assert stats["since"]["schema"] == {"type": "string", "format": "date-time"}
    limit = {p["name"]: p for p in paths["/api/v1/admin/keys"]["get"]["parameters"]}["limit"]
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000}
