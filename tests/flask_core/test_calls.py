"""A ModuleBase endpoint reached through the router's proxy by name (DWOS style)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from quart import Quart, Response

from flask_core.calls import EndpointCall
from flask_core.module import Lifecycle, ModuleBase, ModuleSettings
from router.app import create_app
from router.settings import RouterSettings
from tests.support.keys import KeyFactory
from tests.support.servers import free_port, serve_app
from tests.support.waiting import wait_until


def stats_module(router_url: str, key: str) -> ModuleBase:
    settings = ModuleSettings(
        name="stats",
        version="0.1.0",
        port=free_port(),
        router_url=router_url,
        router_api_key=key,
        instance_id="stats-1",
        drain_seconds=2,
    )
    module = ModuleBase(settings)

    @module.endpoint("/api/v1/stats", methods=("GET",))
    async def stats(call: EndpointCall) -> dict[str, object]:
        return {
            "community": call.community_id,
            "subject": call.subject,
            "window": call.request.args.get("window"),
        }

    @module.endpoint("/report.csv", methods=("POST",))
    async def report(call: EndpointCall) -> Response:
        body = await call.request.get_data(True, False, False)
        return Response(b"n\n" + body, 202, content_type="text/csv")

    return module


@pytest.fixture
async def router(settings: RouterSettings) -> AsyncIterator[tuple[Quart, str]]:
    app = create_app(replace(settings, lease_ttl_seconds=5))
    async with serve_app(app) as url:
        yield app, url


async def test_a_module_endpoint_is_reached_through_the_proxy(
    router: tuple[Quart, str], api_key: KeyFactory
) -> None:
    app, router_url = router
    key = await api_key("action", module_id="stats", app=app)
    module = stats_module(router_url, key)
    assert module.registration()["endpoints"] == ["/api/v1/stats", "/report.csv"]
    assert "module_type" in module.registration()
    user = await api_key("user", communities=["c1"], app=app)
    headers = {"X-API-Key": user, "X-Community-ID": "c1"}
    async with (
        serve_app(module.app, module.settings.port) as module_url,
        httpx.AsyncClient(timeout=10) as http,
    ):
        await wait_until(lambda: module.state == Lifecycle.RUNNING, what="stats registered")
        answer = await http.get(
            f"{router_url}/api/v1/services/stats/api/v1/stats?window=1h",
            headers={**headers, "X-User-ID": "twitch:5"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"community": "c1", "subject": "twitch:5", "window": "1h"}
        csv = await http.post(
            f"{router_url}/api/v1/services/stats/report.csv",
            content=b"1\n",
            headers={**headers, "Content-Type": "text/csv"},
        )
        assert csv.status_code == 202 and csv.text == "n\n1\n"
        assert csv.headers["Content-Type"].startswith("text/csv")
        direct = await http.get(f"{module_url}/api/v1/stats")
        assert direct.status_code == 401  # only the router's token opens an endpoint
        signing = app.extensions["router"].signing_key
        for_action = signing.issue(
            audience="stats", subject="x:1", community_id="c1", action_id="stats.run"
        )
        wrong_claim = await http.get(
            f"{module_url}/api/v1/stats", headers={"Authorization": f"Bearer {for_action}"}
        )
        assert wrong_claim.status_code == 401
        health = await http.get(
            f"{router_url}/api/v1/health/services",
            headers={"X-API-Key": await api_key("core", app=app)},
        )
        assert health.json()["services"]["stats"]["healthy_instances"] == 1
