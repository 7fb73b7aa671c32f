"""flask_core.auth on a bare app: roles, required and optional community scope, denial hook."""

from __future__ import annotations

import pytest
from quart import Quart, Response

from flask_core.api import create_response, install_request_plumbing
from flask_core.auth import (
    Principal,
    current_community,
    current_community_or_none,
    install_auth,
    require_api_key,
)
from flask_core.openapi import build_openapi

KEYS = {
    "scoped": Principal("k1", "scoped", "admin", ("c1",)),
    "global": Principal("k2", "global", "admin", ("*",)),
    "user": Principal("k3", "user", "user", ("c1",)),
}


class TableAuthenticator:
    async def authenticate(self, presented_key: str) -> Principal | None:
        return KEYS.get(presented_key)


@pytest.fixture
def guarded() -> tuple[Quart, list[tuple[str, str]]]:
    app = Quart("t")
    install_request_plumbing(app)
    denials: list[tuple[str, str]] = []

    async def on_denied(category: str, reason: str, principal: Principal | None) -> None:
        denials.append((category, reason))

    install_auth(app, TableAuthenticator(), on_denied)

    @app.get("/narrowable")
    @require_api_key("admin", optional_scope=True)
    async def narrowable() -> Response:
        return create_response({"community": current_community_or_none()})

    @app.get("/scoped")
    @require_api_key("admin", "user", scoped=True)
    async def scoped() -> Response:
        return create_response({"community": current_community()})

    return app, denials


@pytest.mark.parametrize(
    ("key", "header", "status", "community"),
    [
        ("scoped", None, 200, None),
        ("scoped", "c1", 200, "c1"),
        ("scoped", "c2", 403, None),
        ("global", "c2", 200, "c2"),
        ("scoped", "bad id!", 400, None),
        ("user", None, 403, None),
    ],
)
async def test_optional_scope_narrows_when_sent(
    guarded: tuple[Quart, list[tuple[str, str]]],
    key: str,
    header: str | None,
    status: int,
    community: str | None,
) -> None:
    app, denials = guarded
    headers = {"X-API-Key": key, **({"X-Community-ID": header} if header else {})}
    response = await app.test_client().get("/narrowable", headers=headers)
    assert response.status_code == status
    if status == 200:
        assert (await response.get_json())["community"] == community
    assert len(denials) == (1 if status == 403 else 0)


async def test_required_scope_and_missing_key(
    guarded: tuple[Quart, list[tuple[str, str]]],
) -> None:
    app, denials = guarded
    client = app.test_client()
    missing = await client.get("/scoped", headers={"X-API-Key": "user"})
    assert (await missing.get_json())["error"] == "missing_community"
    assert (await client.get("/scoped")).status_code == 401
    assert denials == [("AUTH", "missing key")]
    document = build_openapi(app, "t", "0")
    header = document["paths"]["/narrowable"]["get"]["parameters"][0]
    assert header["name"] == "X-Community-ID" and header["required"] is False


def test_scoped_and_optional_scope_are_exclusive() -> None:
    with pytest.raises(ValueError):
        require_api_key("admin", scoped=True, optional_scope=True)
