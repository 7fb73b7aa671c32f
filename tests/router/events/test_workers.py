"""Two routers (as two workers or replicas) on one PostgreSQL and one Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from quart import Quart

from router.settings import RouterSettings
from tests.conftest import KeyFactory
from tests.support.routers import running_router
from tests.support.servers import serve_app
from tests.support.standin import registration

from .conftest import StandInModule


@pytest.fixture
async def second_app(settings: RouterSettings) -> AsyncIterator[Quart]:
    async with running_router(settings) as application:
        yield application


async def test_events_through_two_routers_reach_a_module_once_and_in_order(
    app: Quart, second_app: Quart, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    trigger = await api_key("trigger", communities=["c1"])
    headers = {"X-API-Key": trigger, "X-Community-ID": "c1"}
    clients = [app.test_client(), second_app.test_client()]
    module = StandInModule()
    accepted = []
    async with serve_app(module.app()) as base_url:
        declared = registration("archive", base_url, subscriptions=["chat.message"])
        registered = await clients[0].post(
            "/api/v1/register", json=declared, headers={"X-API-Key": admin}
        )
        assert registered.status_code == 201
        for index in range(30):
            body = {"platform": "slack", "type": "chat.message", "payload": {"n": index}}
            response = await clients[index % 2].post("/api/v1/events", json=body, headers=headers)
            assert response.status_code == 202
            accepted.append((await response.get_json())["event_id"])
        duplicate = {**body, "event_id": accepted[-1]}
        again = await clients[0].post("/api/v1/events", json=duplicate, headers=headers)
        assert again.status_code == 200
        # On a loaded machine a lease renewal can come late; a takeover then needs a lease TTL.
        await module.wait_for(30, timeout=30.0)
    assert module.event_ids() == accepted
    deliverers = [a.extensions["router"].events.supervisor.modules for a in (app, second_app)]
    assert sorted(deliverers, key=len) == [[], ["archive"]]
