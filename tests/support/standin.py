"""A stand-in module: a real Quart app whose answers a test can steer, recording what it got."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from quart import Quart, Response, request


@dataclass
class Behaviour:
    """What the stand-in does next; tests flip these fields between calls."""

    healthy: bool = True
    status: int = 200
    body: Any = field(default_factory=lambda: {"ok": True})
    raw: bytes | None = None  # sent as-is instead of ``body`` (for garbage answers)
    delay: float = 0.0
    health_delay: float = 0.0
    calls: list[dict[str, Any]] = field(default_factory=list)
    pushes: list[dict[str, Any]] = field(default_factory=list)  # durable event pushes
    health_checks: int = 0


def standin_app(name: str, behaviour: Behaviour) -> Quart:
    app = Quart(name)

    @app.get("/health")
    async def health() -> Response:
        behaviour.health_checks += 1
        if behaviour.health_delay:
            await asyncio.sleep(behaviour.health_delay)
        status = 200 if behaviour.healthy else 503
        return Response(f'{{"status": "{"healthy" if behaviour.healthy else "down"}"}}', status)

    @app.post("/events")
    async def events() -> Response:
        raw = await request.get_data()
        behaviour.pushes.append(
            {"headers": dict(request.headers), "body": json.loads(raw), "raw": raw}
        )
        return Response("", 204)

    @app.post("/actions/<action>")
    async def action(action: str) -> Response:
        raw = await request.get_data()
        behaviour.calls.append(
            {
                "action": action,
                "headers": dict(request.headers),
                "body": await request.get_json(force=True, silent=True),
                "raw": raw,
                "instance": name,
            }
        )
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        if behaviour.raw is not None:
            return Response(behaviour.raw, behaviour.status, content_type="application/json")
        return Response(
            json.dumps(behaviour.body), behaviour.status, content_type="application/json"
        )

    return app


def registration(
    module_id: str,
    base_url: str,
    *,
    instance_id: str = "i1",
    actions: Sequence[str] = ("echo",),
    commands: dict[str, str] | None = None,
    timeout_ms: int = 1000,
    subscriptions: Sequence[str] = (),
    version: str = "1.0.0",
) -> dict[str, Any]:
    """A registration body declaring ``{module_id}.{action}`` at ``/actions/{action}``."""
    return {
        "module_id": module_id,
        "module_version": version,
        "module_type": "action",
        "base_url": base_url,
        "health_check": "/health",
        "instance_id": instance_id,
        "actions": [
            {"id": f"{module_id}.{a}", "path": f"/actions/{a}", "timeout_ms": timeout_ms}
            for a in actions
        ],
        "commands": [{"name": name, "action": action} for name, action in (commands or {}).items()],
        "subscriptions": list(subscriptions),
    }
