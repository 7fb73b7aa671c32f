from __future__ import annotations

import pytest
from quart import Blueprint, Quart

from flask_core.auth import check_guards, guard_blueprint, public, require_api_key


def test_an_unguarded_route_stops_start_up() -> None:
    app = Quart("t")

    @app.get("/open")
    async def open_route() -> str:
        return "x"

    with pytest.raises(RuntimeError, match="/open"):
        check_guards(app)


def test_declared_routes_and_blueprint_defaults_pass() -> None:
    app = Quart("t")
    blueprint = Blueprint("admin", __name__)
    guard_blueprint(blueprint, "admin")

    @blueprint.get("/admin/x")
    async def admin_route() -> str:
        return "x"

    @app.get("/health")
    @public
    async def health() -> str:
        return "ok"

    @app.post("/events")
    @require_api_key("trigger", "core", scoped=True)
    async def events() -> str:
        return "ok"

    app.register_blueprint(blueprint)
    check_guards(app)


def test_unknown_roles_are_refused() -> None:
    with pytest.raises(ValueError):
        require_api_key("superuser")
