"""Route metadata in one registry, composable guards, one way to refuse, the error families."""

from __future__ import annotations

import pytest
from quart import Blueprint, Quart, Response

from flask_core import errors
from flask_core.api import create_response, install_request_plumbing
from flask_core.auth import (
    Principal,
    api_key,
    check_guards,
    global_scope_only,
    guard_blueprint,
    install_auth,
    public,
)
from flask_core.openapi import build_openapi
from flask_core.routes import LimitMode, meta_of, route, validated_body

KEYS = {
    "global": Principal("k1", "global", "admin", ("*",)),
    "scoped": Principal("k2", "scoped", "admin", ("c1",)),
}
SCHEMA = {"name": {"type": "string", "required": True}}


class TableAuthenticator:
    async def authenticate(self, presented_key: str) -> Principal | None:
        return KEYS.get(presented_key)


def build() -> tuple[Quart, list[tuple[str, str]]]:
    app = Quart("routes")
    install_request_plumbing(app)
    denials: list[tuple[str, str]] = []

    async def on_denied(category: str, reason: str, principal: Principal | None) -> None:
        denials.append((category, reason))

    install_auth(app, TableAuthenticator(), on_denied)

    @app.post("/things")
    @route(guard=api_key("admin"), body=SCHEMA, limits=LimitMode.VIEW)
    async def create_thing() -> Response:
        """Create a thing."""
        return create_response(await validated_body(), status=201)

    @app.post("/global")
    @route(guard=api_key("admin").also(global_scope_only("Global keys only.", "not global")))
    async def global_only() -> Response:
        return create_response({"ok": True})

    @app.get("/refuse")
    @route(guard=api_key("admin"))
    async def refuse() -> Response:
        raise errors.Forbidden("Not this one.", reason="refused in the view")

    blueprint = Blueprint("admin", __name__, url_prefix="/admin")
    guard_blueprint(blueprint, "admin")

    @blueprint.post("/notes")
    @route(body=SCHEMA)
    async def add_note() -> Response:
        return create_response(await validated_body(), status=201)

    app.register_blueprint(blueprint)
    check_guards(app)
    return app, denials


def test_one_decorator_declares_guard_body_and_limit_mode() -> None:
    app, _ = build()
    meta = meta_of(app, "create_thing")
    assert meta.guard == api_key("admin") and meta.body is SCHEMA
    assert meta.limits is LimitMode.VIEW
    note = meta_of(app, "admin.add_note")  # the blueprint's guard fills the missing one
    assert note.guard == api_key("admin") and note.body is SCHEMA
    assert note.limits is LimitMode.HOOK
    body = build_openapi(app, "t", "0")["paths"]["/admin/notes"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["required"] == ["name"]


def test_declarations_merge_and_an_undeclared_guard_still_refuses_to_start() -> None:
    app = Quart("unguarded")

    @app.post("/body-only")
    @route(body=SCHEMA)
    async def body_only() -> Response:
        return create_response(None, status=204)

    with pytest.raises(RuntimeError, match="/body-only"):
        check_guards(app)
    route(guard=api_key("core"))(body_only)
    check_guards(app)
    assert meta_of(app, "body_only").body is SCHEMA


async def test_the_declared_body_schema_validates() -> None:
    app, _ = build()
    client = app.test_client()
    headers = {"X-API-Key": "scoped"}
    created = await client.post("/things", json={"name": "a"}, headers=headers)
    assert created.status_code == 201
    invalid = await client.post("/things", json={"name": 3}, headers=headers)
    assert invalid.status_code == 400
    assert list((await invalid.get_json())["fields"]) == ["name"]


async def test_a_composed_check_and_a_view_refuse_the_same_way() -> None:
    app, denials = build()
    client = app.test_client()
    assert (await client.post("/global", headers={"X-API-Key": "global"})).status_code == 200
    refused = await client.post("/global", headers={"X-API-Key": "scoped"})
    assert refused.status_code == 403
    assert (await refused.get_json())["detail"] == "Global keys only."
    in_view = await client.get("/refuse", headers={"X-API-Key": "global"})
    assert (await in_view.get_json())["detail"] == "Not this one."
    assert (await client.get("/refuse")).status_code == 401
    assert denials == [
        ("AUTHZ", "not global"),
        ("AUTHZ", "refused in the view"),
        ("AUTH", "missing key"),
    ]


def test_a_public_route_takes_no_checks() -> None:
    guard = meta_of(_public_app(), "open_route").guard
    assert guard is not None and guard.is_public
    with pytest.raises(ValueError):
        guard.also(global_scope_only("x"))


def _public_app() -> Quart:
    app = Quart("public")

    @app.get("/open")
    @public
    async def open_route() -> Response:
        return create_response({})

    return app


def test_errors_fall_into_families_with_their_headers() -> None:
    assert issubclass(errors.MissingCommunity, errors.BadRequest)
    assert issubclass(errors.InvalidInput, errors.BadRequest)
    assert issubclass(errors.Forbidden, errors.ClientError)
    assert issubclass(errors.ModuleUnavailable, errors.UpstreamError)
    assert issubclass(errors.UpstreamTimeout, errors.ServerError)
    assert errors.ModuleUnavailable().headers == {"Retry-After": "1"}
    assert errors.ModuleUnavailable(retry_after=7).headers == {"Retry-After": "7"}
    assert errors.RateLimited(retry_after=0).headers == {"Retry-After": "1"}
    assert errors.NotFound().headers == {} and errors.NotFound().reason == errors.NotFound().detail
    assert errors.BY_STATUS[503] is errors.ModuleUnavailable


class Webhook:
    def __init__(self) -> None:
        self.app = Quart("webhook")
        self.app.add_url_rule("/hook", "hook", self.receive, methods=["POST"])

    @public
    async def receive(self) -> Response:
        return create_response(None, status=204)


def test_a_method_view_is_declared_on_its_class() -> None:
    webhook = Webhook()
    check_guards(webhook.app)
    guard = meta_of(webhook.app, "hook").guard
    assert guard is not None and guard.is_public
