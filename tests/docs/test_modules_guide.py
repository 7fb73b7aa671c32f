"""docs/modules.md: its Python example, run as a module process, is called, proxied and replies."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from quart import Quart

from router.app import create_app
from router.settings import RouterSettings
from tests.support.keys import KeyFactory
from tests.support.processes import python_process
from tests.support.pubsub import PubSubCollector
from tests.support.servers import free_port, serve_app
from tests.support.waiting import wait_until

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "modules.md"
EXAMPLE = re.compile(r'^```python title="example"\n(.*?)^```$', re.MULTILINE | re.DOTALL)

pytestmark = pytest.mark.slow


def example_source() -> str:
    found = EXAMPLE.search(GUIDE.read_text())
    assert found, 'docs/modules.md has no ```python title="example"``` block'
    return found.group(1)


@pytest.fixture
async def router(settings: RouterSettings) -> AsyncIterator[tuple[Quart, str]]:
    app = create_app(replace(settings, lease_ttl_seconds=10))
    async with serve_app(app) as url:
        yield app, url


async def test_the_guide_example_registers_answers_and_replies(
    tmp_path: Path,
    router: tuple[Quart, str],
    api_key: KeyFactory,
    redis: aioredis.Redis,
    redis_url: str,
) -> None:
    app, router_url = router
    (tmp_path / "greeter.py").write_text(example_source())
    env = {
        "ROUTER_URL": router_url,
        "ROUTER_API_KEY": await api_key("action", module_id="greeter", app=app),
        "MODULE_PORT": str(free_port()),
        "REDIS_URL": redis_url,
    }
    registry = app.extensions["router"].registry
    log = tmp_path / "greeter.log"
    async with (
        python_process(["greeter.py"], cwd=tmp_path, env=env, log=log) as proc,
        httpx.AsyncClient(base_url=router_url, timeout=10) as http,
    ):

        def registered() -> bool:
            assert proc.poll() is None, log.read_text()
            module = registry.module("greeter")
            return bool(module and module.available_instances())

        await wait_until(registered, 60, what="the guide's module registered")
        user = {"X-API-Key": await api_key("user", app=app), "X-Community-ID": "c1"}
        called = await http.post(
            "/api/v1/action/greeter.hello",
            json={"user_id": "twitch:1", "params": {"text": "Ada"}},
            headers=user,
        )
        assert called.status_code == 200, called.text
        assert called.json()["result"] == {"text": "Hello, Ada!"}
        proxied = await http.get("/api/v1/services/greeter/stats", headers=user)
        assert proxied.json() == {"greeted": 1, "community_id": "c1"}
        trigger = {"X-API-Key": await api_key("trigger", app=app), "X-Community-ID": "c1"}
        event_id = str(uuid.uuid4())
        async with PubSubCollector(redis, "responses.c1.twitch") as replies:
            sent = await http.post(
                "/api/v1/events",
                json={
                    "event_id": event_id,
                    "platform": "twitch",
                    "type": "chat.message",
                    "user_id": "twitch:7",
                    "channel_id": "chan",
                    "payload": {"text": "hi all"},
                },
                headers=trigger,
            )
            assert sent.status_code == 202, sent.text
            ((channel, reply),) = await replies.wait_for(1, timeout=30)
    assert channel == "responses.c1.twitch"
    assert reply["text"] == "Welcome, twitch:7!" and reply["in_reply_to"] == event_id
    assert reply["channel_id"] == "chan"
