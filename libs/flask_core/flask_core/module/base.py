"""``ModuleBase``: a module's declarations, its HTTP surface and its lifecycle.

A module is a Quart app whose lifespan walks STARTING → INITIALIZING → READY → RUNNING →
DRAINING → STOPPED: it registers with the router (retrying with back-off until the router
answers), keeps its lease with heartbeats (registering again when the router forgot it), serves
``/health``, checks the router's token on every action call, and on shutdown stops taking work,
drains what is in flight and deregisters.
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import redis.asyncio as aioredis
from quart import Quart, Response

from .. import errors
from ..api import create_response, install_request_plumbing
from ..auth import check_guards, public
from ..calls import (
    ActionHandler,
    EndpointHandler,
    action_answer,
    action_call,
    endpoint_answer,
    endpoint_call,
)
from ..datamodels import DeclaredCommand, Registration
from ..logging import get_logger
from ..redis_client import create_redis, prepare
from ..router_client import RouterClient, RouterError
from ..tasks import BackgroundTasks
from ..tokens import JwksCache, RouterTokenVerifier, UsedTokenIds
from .settings import ModuleSettings

_log = get_logger("flask_core.module")


class Lifecycle(StrEnum):
    STARTING = "starting"
    INITIALIZING = "initializing"
    READY = "ready"
    RUNNING = "running"
    DRAINING = "draining"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class _Action:
    action_id: str
    timeout_ms: int
    handler: ActionHandler

    @property
    def path(self) -> str:
        return f"/actions/{self.action_id}"


class ModuleBase:
    """A Router Hub module: declare actions and commands, then serve ``self.app``."""

    module_type = "action"
    # What ``release()`` closes, named in the one line that says what shutdown stopped.
    resources: tuple[str, ...] = ()

    def __init__(
        self,
        settings: ModuleSettings,
        *,
        subscriptions: tuple[str, ...] = (),
        router: RouterClient | None = None,
    ) -> None:
        self.settings = settings
        self.state = Lifecycle.STARTING
        self.subscriptions = subscriptions
        self.router = router or RouterClient(settings.router_url, settings.router_api_key)
        self.jwks = JwksCache(self.router.http, self.router.jwks_url)
        # Shared by every instance through Redis once ``start`` opened it (SPEC §5).
        self.used_tokens = UsedTokenIds(None, keyspace=settings.keyspace)
        self.verifier = RouterTokenVerifier(self.jwks, settings.name, self.used_tokens)
        self.redis: aioredis.Redis | None = None
        self.instance_id = settings.instance_id or f"{socket.gethostname()}-{settings.port}"
        self.tasks = BackgroundTasks()
        self.heartbeat_interval = 10.0
        self._actions: dict[str, _Action] = {}
        self._commands: list[DeclaredCommand] = []
        self._endpoints: list[str] = []
        self._in_flight = 0
        self._stopped: list[str] = []  # what drain() stopped, for the shutdown line
        self._idle = asyncio.Event()
        self._started_at = time.monotonic()
        self.app = self._build_app()

    # -- declarations ---------------------------------------------------------------------

    def action(
        self, action_id: str, *, timeout_ms: int = 2000
    ) -> Callable[[ActionHandler], ActionHandler]:
        """Declare ``action_id``, handled by the decorated coroutine."""

        def declare(handler: ActionHandler) -> ActionHandler:
            self._actions[action_id] = _Action(action_id, timeout_ms, handler)
            return handler

        return declare

    def endpoint(
        self, path: str, *, methods: tuple[str, ...] = ("GET",)
    ) -> Callable[[EndpointHandler], EndpointHandler]:
        """Serve ``path`` to callers of ``/api/v1/services/{module}{path}`` through the router.

        The handler gets a verified ``EndpointCall`` and returns JSON-able data or a Quart
        response (its status, content type and body reach the caller unchanged).
        """

        def declare(handler: EndpointHandler) -> EndpointHandler:
            async def serve(**_: Any) -> Response:
                return await self._serve_endpoint(path, handler)

            serve.__doc__ = handler.__doc__
            # The router's token is the authentication; the API-key guard does not apply.
            self.app.add_url_rule(path, f"endpoint:{path}", public(serve), methods=list(methods))
            self._endpoints.append(path)
            return handler

        return declare

    def command(self, name: str, action_id: str) -> None:
        """Declare a chat command (``!quote``) that runs one of this module's actions."""
        self._commands.append({"name": name, "action": action_id})

    def registration(self) -> Registration:
        body: Registration = {
            "module_id": self.settings.name,
            "module_version": self.settings.version,
            "module_type": self.module_type,
            "port": self.settings.port,
            "health_check": "/health",
            "instance_id": self.instance_id,
            "endpoints": list(self._endpoints),  # reachable through /api/v1/services/...
            "actions": [
                {"id": a.action_id, "path": a.path, "timeout_ms": a.timeout_ms}
                for a in self._actions.values()
            ],
            "commands": list(self._commands),
            "subscriptions": list(self.subscriptions),
        }
        if self.settings.base_url:
            body["base_url"] = self.settings.base_url
        return body

    # -- hooks for subclasses -------------------------------------------------------------

    async def initialize(self) -> None:
        """Open the module's own resources (database, clients) before it registers."""

    async def release(self) -> None:
        """Close the module's own resources after it stopped."""

    async def health_details(self) -> dict[str, Any]:
        """Extra members of ``/health`` (e.g. dependencies)."""
        return {}

    def health_problems(self) -> list[str]:
        """Why a running module cannot do all its work; any makes ``/health`` say degraded."""
        return []

    # -- HTTP -----------------------------------------------------------------------------

    def _build_app(self) -> Quart:
        app = Quart(self.settings.name, static_folder=None)
        install_request_plumbing(app)

        @app.get("/health")
        @public
        async def health() -> Response:
            """Liveness of the module, with its lifecycle state."""
            return await self._health()

        # The API-key guard does not apply: every call carries the router's token instead.
        @app.post("/actions/<action_id>")
        @public
        async def action(action_id: str) -> Response:
            """Run a declared action for the router."""
            return await self._serve_action(action_id)

        app.before_serving(self.start)
        app.after_serving(self.stop)
        check_guards(app)
        return app

    async def _health(self) -> Response:
        """Liveness of the module, with its lifecycle state."""
        serving = self.state in (Lifecycle.READY, Lifecycle.RUNNING)
        problems = self.health_problems() if serving else []
        status = ("degraded" if problems else "healthy") if serving else str(self.state)
        body = {
            "status": status,
            "module": self.settings.name,
            "version": self.settings.version,
            "uptime_seconds": round(time.monotonic() - self._started_at, 3),
            "lifecycle": str(self.state),
            "instance_id": self.instance_id,
            "in_flight": self._in_flight,
            **(await self.health_details()),
        }
        if problems:
            body["problems"] = problems
        return create_response(body, status=200 if serving else 503)

    async def _serve_action(self, action_id: str) -> Response:
        """Run a declared action for the router (the bearer token is the router's)."""
        action = self._actions.get(action_id)
        if action is None:
            raise errors.NotFound(f"This module has no action {action_id!r}.")
        if self.state not in (Lifecycle.READY, Lifecycle.RUNNING):
            raise errors.ModuleUnavailable("The module is shutting down.")
        call = await action_call(self.verifier, action_id)
        async with self._working():
            result = await action.handler(call)
        return action_answer(action_id, result)

    async def _serve_endpoint(self, path: str, handler: EndpointHandler) -> Response:
        """Answer a proxied request once the router's token for ``path`` is verified."""
        if self.state not in (Lifecycle.READY, Lifecycle.RUNNING):
            raise errors.ModuleUnavailable("The module is shutting down.")
        call = await endpoint_call(self.verifier, path)
        async with self._working():
            result = await handler(call)
        return await endpoint_answer(result)

    @asynccontextmanager
    async def _working(self) -> AsyncIterator[None]:
        """Count a call in flight, so draining waits for it."""
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self.state = Lifecycle.INITIALIZING
        if self.settings.redis_url and self.redis is None:
            self.redis = create_redis(
                self.settings.redis_url, topology=self.settings.redis_topology
            )
            await prepare(self.redis)
            self.used_tokens.use_redis(self.redis)
        await self.initialize()
        self.state = Lifecycle.READY
        self.tasks.spawn(f"{self.settings.name}.registration", self._stay_registered())

    async def _stay_registered(self) -> None:
        await self._register_until_accepted()
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                lease = await self.router.heartbeat(self.settings.name, self.instance_id)
            except Exception as error:  # the router may be down; keep beating
                _log.warning("heartbeat failed: %r", error, extra={"event_type": "SYSTEM"})
                continue
            if lease is None:
                _log.warning("router forgot this instance; registering again")
                await self._register_until_accepted()

    async def _register_until_accepted(self) -> None:
        delay = 0.2
        while True:
            try:
                answer = await self.router.register(self.registration())
            except RouterError as error:
                if error.status in (400, 401, 403, 409):
                    _log.error("registration refused: %s %s", error, error.problem)
                _log.warning("registration failed: %s", error, extra={"event_type": "SYSTEM"})
            except Exception as error:  # router not up yet: retry with back-off
                _log.info("router not reachable yet: %r", error, extra={"event_type": "SYSTEM"})
            else:
                self.heartbeat_interval = float(answer.get("heartbeat_interval_seconds", 10))
                self.instance_id = answer.get("instance_id", self.instance_id)
                self.state = Lifecycle.RUNNING
                _log.info("registered as %s", self.instance_id, extra={"event_type": "SYSTEM"})
                return
            await asyncio.sleep(delay * (0.5 + random.random() / 2))
            delay = min(delay * 2, 10.0)

    async def drain(self) -> None:
        """Stop taking work, deregister so the router sends no more, let calls in flight end."""
        if self.state in (Lifecycle.DRAINING, Lifecycle.STOPPED):
            return
        self.state = Lifecycle.DRAINING
        await self.tasks.close()
        try:
            await self.router.deregister(self.settings.name, self.instance_id)
        except Exception as error:  # best effort: the lease runs out anyway
            _log.warning("deregistration failed: %r", error, extra={"event_type": "SYSTEM"})
        else:
            self._stopped.append(f"registration of {self.instance_id} (deregistered)")
        if self._in_flight:
            try:
                await asyncio.wait_for(self._idle.wait(), self.settings.drain_seconds)
            except TimeoutError:
                _log.warning("%d calls still in flight at shutdown", self._in_flight)

    async def stop(self) -> None:
        """Drain (if not done yet), release resources, and stop, saying what was stopped."""
        await self.drain()
        await self.release()
        await self.router.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        self.state = Lifecycle.STOPPED
        stopped = ["heartbeats", *self._stopped, *self.resources, "router client"]
        if self.redis is not None:
            stopped.append("Redis client")
        _log.info("stopped %s", ", ".join(stopped), extra={"event_type": "SYSTEM"})
