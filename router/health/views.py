"""Public probe routes (SPEC §2)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from quart import Blueprint, Response, current_app

from flask_core import errors
from flask_core.api import create_response, error_response
from flask_core.auth import public
from flask_core.database import AsyncDAL
from flask_core.metrics import RequestMetrics
from flask_core.openapi import build_openapi
from flask_core.redis_client import redis_ping
from flask_core.routes import route
from flask_core.slots import ServiceSlot

from .. import __version__, answers

if TYPE_CHECKING:
    import redis.asyncio as aioredis


@dataclass(frozen=True)
class Dependencies:
    """What the probes look at: the router's stores and when it started."""

    dal: AsyncDAL
    redis: aioredis.Redis
    started_at: float

    @property
    def uptime_seconds(self) -> float:
        return round(time.monotonic() - self.started_at, 3)


blueprint = Blueprint("health", __name__)
DEPENDENCIES = ServiceSlot[Dependencies]("router.health")


async def _probe() -> dict[str, str]:
    stores = DEPENDENCIES.get()
    database, redis = await asyncio.gather(stores.dal.ping(), redis_ping(stores.redis))
    return {
        "database": "connected" if database else "disconnected",
        "redis": "connected" if redis else "disconnected",
    }


async def _dependencies() -> dict[str, str]:
    """The dependencies' state; concurrent probes share one round trip, never a stale answer."""
    extensions = current_app.extensions
    in_flight: asyncio.Future[dict[str, str]] | None = extensions.get("health_probe")
    if in_flight is None or in_flight.done():
        in_flight = asyncio.ensure_future(_probe())
        extensions["health_probe"] = in_flight
    return dict(await asyncio.shield(in_flight))


@blueprint.get("/health")
@public
@route(answers=answers.ok(answers.HEALTH))
async def health() -> Response:
    """Liveness: always 200, with the state of the database and Redis."""
    dependencies = await _dependencies()
    healthy = all(value == "connected" for value in dependencies.values())
    return create_response(
        {
            "status": "healthy" if healthy else "degraded",
            "module": "router",
            "version": __version__,
            "uptime_seconds": DEPENDENCIES.get().uptime_seconds,
            "dependencies": dependencies,
        }
    )


@blueprint.get("/ready")
@public
@route(answers=answers.ok(answers.READY))
async def ready() -> Response:
    """Readiness: 200 when the database and Redis answer, else 503."""
    dependencies = await _dependencies()
    if all(value == "connected" for value in dependencies.values()):
        return create_response({"status": "ready", "dependencies": dependencies})
    problem = errors.ModuleUnavailable("A dependency of the router does not answer.")
    problem.extensions["dependencies"] = dependencies
    return error_response(problem)


@blueprint.get("/metrics")
@public
@route(answers=answers.METRICS)
async def metrics() -> Response:
    """Prometheus metrics in the text exposition format."""
    metrics: RequestMetrics = current_app.extensions["metrics"]
    return await metrics.view()


@blueprint.get("/openapi.json")
@public
@route(answers=answers.ok(answers.OPENAPI))
async def openapi() -> Response:
    """The OpenAPI 3 description of every route."""
    return create_response(build_openapi(current_app, "Router Hub router", __version__))
