"""ModuleBase against a real router on loopback: lifecycle, registration, heartbeats, tokens."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import httpx
import pytest
from quart import Quart

from flask_core.module import ActionCall, Lifecycle, ModuleBase, ModuleSettings
from router.app import create_app
from router.settings import RouterSettings
from tests.support.keys import KeyFactory
from tests.support.servers import free_port, serve_app
from tests.support.waiting import let_time_pass, wait_until


@dataclass
class Router:
    app: Quart
    url: str
    admin: str


@asynccontextmanager
async def router_at(settings: RouterSettings, port: int | None = None) -> AsyncIterator[Router]:
    app = create_app(replace(settings, lease_ttl_seconds=3))
    async with serve_app(app, port) as url:
        yield Router(app, url, "")


@pytest.fixture
async def router(settings: RouterSettings, api_key: KeyFactory) -> AsyncIterator[Router]:
    async with router_at(settings) as running:
        running.admin = await api_key("admin", app=running.app)
        yield running


def echo_module(router_url: str, key: str, port: int | None = None) -> ModuleBase:
    settings = ModuleSettings(
        name="echo",
        version="1.2.3",
        port=port or free_port(),
        router_url=router_url,
        router_api_key=key,
        instance_id="echo-1",
        drain_seconds=3,
    )
    module = ModuleBase(settings)
    release = asyncio.Event()
    module.release_slow = release  # type: ignore[attr-defined]

    @module.action("echo.say", timeout_ms=3000)
    async def say(call: ActionCall) -> dict[str, object]:
        return {
            "said": call.params.get("text"),
            "community": call.community_id,
            "user": call.user_id,
        }

    @module.action("echo.slow", timeout_ms=3000)
    async def slow(call: ActionCall) -> dict[str, object]:
        await release.wait()
        return {"slow": True}

    module.command("!say", "echo.say")
    return module


def instances(router: Router) -> list[str]:
    module = router.app.extensions["router"].registry.module("echo")
    return [i.instance_id for i in module.instances] if module else []


async def test_a_module_registers_serves_verified_calls_and_deregisters(
    router: Router, api_key: KeyFactory
) -> None:
    key = await api_key("action", module_id="echo", app=router.app)
    module = echo_module(router.url, key)
    async with serve_app(module.app, module.settings.port) as module_url:
        await wait_until(lambda: module.state == Lifecycle.RUNNING)
        assert instances(router) == ["echo-1"]
        async with httpx.AsyncClient() as http:
            health = (await http.get(f"{module_url}/health")).json()
            assert health["status"] == "healthy" and health["module"] == "echo"
            assert health["version"] == "1.2.3" and health["uptime_seconds"] >= 0
            assert health["lifecycle"] == "running"
            user = await api_key("user", app=router.app)
            answer = await http.post(
                f"{router.url}/api/v1/action/echo.say",
                json={"user_id": "discord:7", "params": {"text": "hi"}},
                headers={"X-API-Key": user, "X-Community-ID": "c9"},
            )
            assert answer.status_code == 200
            assert answer.json()["result"] == {"said": "hi", "community": "c9", "user": "discord:7"}
            direct = await http.post(f"{module_url}/actions/echo.say", json={})
            assert direct.status_code == 401
            forged = await http.post(
                f"{module_url}/actions/echo.say",
                json={},
                headers={"Authorization": "Bearer not.a.token"},
            )
            assert forged.status_code == 401
            signing = router.app.extensions["router"].signing_key
            other = signing.issue(
                audience="quotes", subject="x:1", community_id="c", action_id="echo.say"
            )
            wrong_audience = await http.post(
                f"{module_url}/actions/echo.say",
                json={},
                headers={"Authorization": f"Bearer {other}"},
            )
            assert wrong_audience.status_code == 401
    assert module.state == Lifecycle.STOPPED
    assert instances(router) == []


async def test_registration_retries_until_the_router_answers(
    settings: RouterSettings, api_key: KeyFactory
) -> None:
    port = free_port()
    module = echo_module(f"http://127.0.0.1:{port}", "pending")
    async with serve_app(module.app, module.settings.port):
        await let_time_pass(0.6)  # no router to answer yet: registration keeps retrying
        assert module.state == Lifecycle.READY  # still trying
        async with router_at(settings, port) as router:
            key = await api_key("action", module_id="echo", app=router.app)
            module.router._api_key = key  # the operator fixed the key while it retried
            await wait_until(lambda: module.state == Lifecycle.RUNNING)
            assert instances(router) == ["echo-1"]


async def test_a_forgotten_instance_registers_again_on_its_next_heartbeat(
    router: Router, api_key: KeyFactory
) -> None:
    module = echo_module(router.url, await api_key("action", module_id="echo", app=router.app))
    async with serve_app(module.app, module.settings.port), httpx.AsyncClient() as http:
        await wait_until(lambda: module.state == Lifecycle.RUNNING)
        gone = await http.delete(
            f"{router.url}/api/v1/modules/echo/instances/echo-1",
            headers={"X-API-Key": router.admin},
        )
        assert gone.status_code == 204
        assert instances(router) == []
        await wait_until(lambda: instances(router) == ["echo-1"], timeout=5)


async def test_draining_refuses_new_work_finishes_calls_in_flight_then_deregisters(
    router: Router, api_key: KeyFactory
) -> None:
    module = echo_module(router.url, await api_key("action", module_id="echo", app=router.app))
    signing = router.app.extensions["router"].signing_key

    def bearer(action: str) -> dict[str, str]:
        token = signing.issue(
            audience="echo", subject="x:1", community_id="c", action_id=action, body=b"{}"
        )
        return {"Authorization": f"Bearer {token}", "X-Community-ID": "c"}

    async with serve_app(module.app, module.settings.port) as url, httpx.AsyncClient() as http:
        await wait_until(lambda: module.state == Lifecycle.RUNNING)
        in_flight = asyncio.create_task(
            http.post(f"{url}/actions/echo.slow", json={}, headers=bearer("echo.slow"))
        )
        await wait_until(lambda: module._in_flight == 1)
        draining = asyncio.create_task(module.drain())
        await wait_until(lambda: module.state == Lifecycle.DRAINING)
        refused = await http.post(f"{url}/actions/echo.say", json={}, headers=bearer("echo.say"))
        assert refused.status_code == 503
        assert (await http.get(f"{url}/health")).status_code == 503
        await wait_until(lambda: instances(router) == [])
        assert not draining.done()  # still waiting for the slow call
        module.release_slow.set()  # type: ignore[attr-defined]
        assert (await in_flight).status_code == 200
        await draining
