"""RouterClient against a real router on loopback: every module-to-router call it offers."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from flask_core.router_client import RouterClient, RouterError
from router.app import create_app
from router.settings import RouterSettings
from tests.support.keys import KeyFactory
from tests.support.pubsub import PubSubCollector
from tests.support.servers import serve_app


async def test_every_call_of_the_client(
    settings: RouterSettings, api_key: KeyFactory, redis: aioredis.Redis
) -> None:
    app = create_app(settings)
    async with serve_app(app) as url:
        admin = await api_key("admin", app=app)
        client = RouterClient(url, await api_key("core", module_id="mod", app=app))
        admin_client = RouterClient(url, admin, http=client.http)
        try:
            community = await admin_client.http.post(
                f"{url}/api/v1/admin/communities",
                json={"id": "c1", "name": "One"},
                headers={"X-API-Key": admin},
            )
            assert community.status_code == 201
            channel = await admin_client.http.post(
                f"{url}/api/v1/admin/communities/c1/channels",
                json={"platform": "twitch", "channel_id": "42"},
                headers={"X-API-Key": admin},
            )
            assert channel.status_code == 201
            assert await client.resolve("twitch", "42") == "c1"
            assert await client.resolve("twitch", "404") is None

            registered = await client.register(
                {
                    "module_id": "mod",
                    "module_version": "1.0.0",
                    "module_type": "core",
                    "base_url": "http://127.0.0.1:9",
                    "instance_id": "i1",
                }
            )
            assert registered["instance_id"] == "i1"
            assert (await client.heartbeat("mod", "i1"))["lease_expires_at"]
            await client.deregister("mod", "i1")
            assert await client.heartbeat("mod", "i1") is None
            await client.deregister("mod", "i1")  # already gone: no error

            async with PubSubCollector(redis, "events.c1.*", "responses.c1.*") as published:
                accepted = await client.events(
                    "c1",
                    {
                        "platform": "twitch",
                        "type": "chat.message",
                        "user_id": "twitch:1",
                        "payload": {"text": "hi"},
                    },
                )
                assert accepted["duplicate"] is False
                batch = await client.events_batch(
                    "c1", [{"platform": "twitch", "type": "channel.follow", "payload": {}}]
                )
                assert len(batch["results"]) == 1
                await client.responses(
                    "c1", {"platform": "twitch", "channel_id": "42", "text": "yo"}
                )
                await published.wait_for(3)
            channels = {channel for channel, _ in published.messages}
            assert channels == {
                "events.c1.chat.message",
                "events.c1.channel.follow",
                "responses.c1.twitch",
            }

            with pytest.raises(RouterError) as refused:
                await client.action("nobody.knows", "c1", "twitch:1")
            assert refused.value.status == 404 and refused.value.problem["error"] == "not_found"
            jwks = await client.jwks()
            assert jwks["keys"][0]["kty"] == "OKP"
        finally:
            await client.aclose()
