"""A stand-in router for trigger modules: resolve answers one community, events are recorded.

It answers as the router's contract says (SPEC §7, §8) and refuses an event of type
``refused.by.router`` with 400, as the router does for an event it finds invalid.
"""

from __future__ import annotations

from typing import Any

from quart import Quart, Response, request

from flask_core import jsonio

REFUSED_TYPE = "refused.by.router"


def router_standin_app(received: list[dict[str, Any]], community: str = "c1") -> Quart:
    app = Quart("router-standin")

    @app.get("/api/v1/communities/resolve")
    async def resolve() -> Response:
        body = jsonio.dumps({"community_id": community})
        return Response(body, content_type="application/json")

    @app.post("/api/v1/events")
    async def events() -> Response:
        event = jsonio.loads(await request.get_data())
        if event.get("type") == REFUSED_TYPE:
            return Response('{"error": "invalid_input"}', 400, content_type="application/json")
        received.append(event)
        return Response('{"accepted": true}', 202, content_type="application/json")

    @app.post("/api/v1/register")
    async def register() -> Response:
        return Response('{"error": "unavailable"}', 503, content_type="application/json")

    return app
