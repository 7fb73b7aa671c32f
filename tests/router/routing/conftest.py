from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest
from quart import Quart

from flask_core.breaker import BreakerPolicy
from router.settings import RouterSettings
from tests.support.keys import KeyFactory
from tests.support.servers import serve_app
from tests.support.standin import Behaviour, registration, standin_app

POLICY = BreakerPolicy(
    consecutive_failures=3,
    minimum_calls=20,
    base_backoff_seconds=0.4,
    max_backoff_seconds=2.0,
    jitter=0.0,
    half_open_max_probes=1,
    probe_successes_to_close=2,
)


@pytest.fixture
def settings(settings: RouterSettings) -> RouterSettings:
    return replace(settings, breaker=POLICY, health_interval_seconds=60)


@dataclass
class Module:
    """A stand-in module served on loopback and registered with the router."""

    url: str
    behaviour: Behaviour


@dataclass
class Caller:
    app: Quart
    key: str
    admin: str

    async def call(self, action: str = "mod.echo", **extra: object):  # type: ignore[no-untyped-def]
        body = {"user_id": "twitch:42", "context": {"channel": "x"}, "params": {"n": 1}, **extra}
        headers = {"X-API-Key": self.key, "X-Community-ID": "c1", "X-Request-ID": "req-1"}
        return await self.app.test_client().post(
            f"/api/v1/action/{action}", json=body, headers=headers
        )

    async def register(self, body: dict) -> int:  # type: ignore[type-arg]
        response = await self.app.test_client().post(
            "/api/v1/register", json=body, headers={"X-API-Key": self.admin}
        )
        return response.status_code


@pytest.fixture
async def caller(app: Quart, api_key: KeyFactory) -> Caller:
    return Caller(app, await api_key("user", communities=["c1"]), await api_key("admin"))


@pytest.fixture
async def module(caller: Caller) -> AsyncIterator[Module]:
    behaviour = Behaviour()
    async with serve_app(standin_app("i1", behaviour)) as url:
        assert await caller.register(registration("mod", url, timeout_ms=300)) == 201
        yield Module(url, behaviour)
