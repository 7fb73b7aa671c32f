"""Durable pushes carry a token bound to the pushed bytes, like action calls (SPEC §5, §7)."""

from __future__ import annotations

from quart import Quart
from quart.typing import TestClientProtocol

from flask_core.tokens import body_digest, verify_router_token
from router.events.settings import EventSettings
from tests.support.keys import KeyFactory
from tests.support.servers import serve_app
from tests.support.standin import Behaviour, registration, standin_app
from tests.support.waiting import wait_until


async def test_each_push_token_is_bound_to_its_bytes_and_the_delivery_timeout(
    app: Quart, client: TestClientProtocol, api_key: KeyFactory, fast_events: EventSettings
) -> None:
    module_key = await api_key("action", communities=["c1"], module_id="logger")
    trigger = await api_key("trigger", communities=["c1"])
    behaviour = Behaviour()
    async with serve_app(standin_app("logger", behaviour)) as url:
        body = registration("logger", url, actions=(), subscriptions=["chat.message"])
        registered = await client.post(
            "/api/v1/register", json=body, headers={"X-API-Key": module_key}
        )
        assert registered.status_code == 201
        for text in ("one", "two"):
            event = {"platform": "twitch", "type": "chat.message", "payload": {"text": text}}
            response = await client.post(
                "/api/v1/events",
                json=event,
                headers={"X-API-Key": trigger, "X-Community-ID": "c1"},
            )
            assert response.status_code == 202
        await wait_until(lambda: len(behaviour.pushes) >= 2, what="two pushes")
    jwks = await (await client.get("/.well-known/jwks.json")).get_json()
    jtis = set()
    for push in behaviour.pushes:
        token = push["headers"]["Authorization"].removeprefix("Bearer ")
        claims = verify_router_token(token, jwks, audience="logger")
        assert claims["body_sha256"] == body_digest(push["raw"])
        assert claims["community_id"] == "c1" and claims["action_id"] == "events"
        lifetime = round(fast_events.delivery_timeout_seconds) + 5
        assert claims["exp"] - claims["iat"] == lifetime
        jtis.add(claims["jti"])
    assert len(jtis) == len(behaviour.pushes)
