"""The router's resources, opened by the lifespan and closed in reverse order."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from quart import current_app

from flask_core.database import AsyncDAL, migrate
from flask_core.logging import get_logger
from flask_core.redis_client import create_redis
from flask_core.tasks import BackgroundTasks

from . import __version__
from .audit.store import AuditStore
from .audit.trail import AuditTrail
from .events.service import EventService
from .events.wiring import open_events
from .keys.service import KeyService
from .routing.setup import Routing
from .settings import RouterSettings

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from .ratelimits.limits import RouterLimits
    from .registry.live import Registry
    from .routing.dispatch import Dispatcher

_log = get_logger("router.state")
MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class RouterState:
    """Everything a request handler may need, owned by the app's lifespan."""

    settings: RouterSettings
    started_at: float = field(default_factory=time.monotonic)
    tasks: BackgroundTasks = field(default_factory=BackgroundTasks)
    audit: AuditTrail = field(default_factory=lambda: AuditTrail("router", __version__))
    _keys: KeyService | None = None
    _routing: Routing | None = None
    _events: EventService | None = None
    _dal: AsyncDAL | None = None
    _redis: aioredis.Redis | None = None
    _http: httpx.AsyncClient | None = None

    @property
    def dal(self) -> AsyncDAL:
        assert self._dal is not None, "the database is opened by the app's lifespan"
        return self._dal

    @property
    def keys(self) -> KeyService:
        assert self._keys is not None, "the key service is opened by the app's lifespan"
        return self._keys

    @property
    def routing(self) -> Routing:
        assert self._routing is not None, "routing is opened by the app's lifespan"
        return self._routing

    @property
    def registry(self) -> Registry:
        return self.routing.registry

    @property
    def dispatcher(self) -> Dispatcher:
        return self.routing.dispatcher

    @property
    def limits(self) -> RouterLimits:
        return self.routing.limits

    @property
    def events(self) -> EventService:
        assert self._events is not None, "events are opened by the app's lifespan"
        return self._events

    @property
    def redis(self) -> aioredis.Redis:
        assert self._redis is not None, "Redis is opened by the app's lifespan"
        return self._redis

    @property
    def http(self) -> httpx.AsyncClient:
        assert self._http is not None, "the HTTP client is opened by the app's lifespan"
        return self._http

    async def open(self) -> None:
        if not self.settings.database_url or not self.settings.redis_url:
            raise RuntimeError("DATABASE_URL and REDIS_URL must be resolved before the app starts")
        self._dal = await AsyncDAL.connect(self.settings.database_url, max_size=20)
        await migrate(self._dal, MIGRATIONS)
        self._redis = create_redis(self.settings.redis_url)
        self._http = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=512, max_keepalive_connections=128),
            timeout=httpx.Timeout(5.0, connect=2.0),
            follow_redirects=False,
        )
        audit_spool = self.settings.data_dir / "spool" / "audit"
        await self.audit.start(AuditStore(self._dal), audit_spool)
        self._keys = await KeyService.open(self._dal, self._redis, self.settings, self.tasks)
        self._routing = await Routing.open(
            self.settings, self._dal, self._redis, self._http, self.audit, self.tasks
        )
        self._events = await open_events(self)

    async def close(self) -> None:
        """Close everything in reverse order; one failing step never keeps the rest open."""
        steps: list[tuple[str, Callable[[], Awaitable[object]] | None]] = [
            ("keys", self._keys.close if self._keys is not None else None),
            ("tasks", self.tasks.close),
            ("events", self._events.close if self._events is not None else None),
            ("audit", self.audit.close),  # late: it takes what the others recorded while closing
            ("http", self._http.aclose if self._http is not None else None),
            ("redis", self._redis.aclose if self._redis is not None else None),
            ("database", self._dal.close if self._dal is not None else None),
        ]
        for name, step in steps:
            if step is None:
                continue
            try:
                await step()
            except Exception:
                _log.exception("closing %s failed", name, extra={"event_type": "ERROR"})

    @property
    def uptime_seconds(self) -> float:
        return round(time.monotonic() - self.started_at, 3)


def router_state() -> RouterState:
    state: RouterState = current_app.extensions["router"]
    return state
