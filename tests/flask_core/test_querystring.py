"""Declared query parameters: unknown ones refused with a 400 naming them, known ones typed."""

from __future__ import annotations

from quart import Quart, Response

from flask_core.api import create_response, install_request_plumbing
from flask_core.auth import public
from flask_core.querystring import QueryParam, declared_query
from flask_core.routes import route

PARAMS = {
    "kind": QueryParam("one of two kinds", choices=("a", "b")),
    "limit": QueryParam("how many", kind="integer", minimum=1, maximum=10),
}


def _app() -> Quart:
    app = Quart("querystring")
    install_request_plumbing(app)

    @app.get("/things")
    @public
    @route(query=PARAMS)
    async def things() -> Response:
        params = declared_query()
        limit = params.integer("limit", default=3, low=1, high=10)
        return create_response({"kind": params.choice("kind", ("a", "b")), "limit": limit})

    return app


async def test_declared_parameters_are_read_and_unknown_ones_refused() -> None:
    client = _app().test_client()
    assert await (await client.get("/things?kind=a&limit=5")).get_json() == {
        "kind": "a",
        "limit": 5,
    }
    assert await (await client.get("/things")).get_json() == {"kind": None, "limit": 3}
    refused = await client.get("/things?kind=a&from=x&sort=y")
    problem = await refused.get_json()
    assert refused.status_code == 400 and problem["error"] == "invalid_input"
    assert set(problem["fields"]) == {"from", "sort"}
    assert problem["detail"] == "Unknown query parameter(s): from, sort."
    assert "kind, limit" in problem["fields"]["from"][0]
    assert (await client.get("/things?kind=c")).status_code == 400


def test_schemas_for_the_openapi() -> None:
    assert PARAMS["kind"].schema() == {"type": "string", "enum": ["a", "b"]}
    assert PARAMS["limit"].schema() == {"type": "integer", "minimum": 1, "maximum": 10}
    assert QueryParam("when", kind="date-time").schema() == {
        "type": "string",
        "format": "date-time",
    }
