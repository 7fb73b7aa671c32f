"""Durable fan-out to registered modules, chat commands, and dead letters, end to end."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quart.typing import TestClientProtocol

from flask_core.tokens import verify_router_token
from tests.conftest import KeyFactory
from tests.support.servers import serve_app
from tests.support.standin import registration
from tests.support.stores import ALL_REDIS_MODES
from tests.support.waiting import allow_strays, eventually, wait_until

from .conftest import StandInModule

pytestmark = ALL_REDIS_MODES

CHAT = {"platform": "twitch", "type": "chat.message", "channel_id": "chan", "user_id": "twitch:7"}


def _headers(key: str, community: str = "c1") -> dict[str, str]:
    return {"X-API-Key": key, "X-Community-ID": community}


async def _register(client: TestClientProtocol, key: str, body: dict[str, Any]) -> None:
    response = await client.post("/api/v1/register", json=body, headers={"X-API-Key": key})
    assert response.status_code in (200, 201), await response.get_json()


async def test_a_subscribed_module_gets_its_types_with_a_router_token(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin, trigger = await api_key("admin"), await api_key("trigger", communities=["c1"])
    module = StandInModule()
    async with serve_app(module.app()) as base_url:
        await _register(
            client, admin, registration("logger", base_url, subscriptions=["chat.message"])
        )
        sent = []
        for text in ("one", "two", "three"):
            body = {**CHAT, "payload": {"text": text}}
            response = await client.post("/api/v1/events", json=body, headers=_headers(trigger))
            sent.append((await response.get_json())["event_id"])
        follow = {"platform": "twitch", "type": "channel.follow", "payload": {}}
        await client.post("/api/v1/events", json=follow, headers=_headers(trigger))
        await module.wait_for(3)
        await allow_strays(0.2)  # a wrongly pushed channel.follow would come right after
    assert module.event_ids() == sent  # in order, and no channel.follow
    jwks = await (await client.get("/.well-known/jwks.json")).get_json()
    token = module.headers[0]["Authorization"].removeprefix("Bearer ")
    claims = verify_router_token(token, jwks, audience="logger")
    assert claims["community_id"] == "c1"


async def test_a_chat_command_runs_its_action_and_answers_on_responses(
    client: TestClientProtocol, api_key: KeyFactory, listen: Callable[..., Any]
) -> None:
    admin, trigger = await api_key("admin"), await api_key("trigger", communities=["c1"])
    module = StandInModule()
    async with serve_app(module.app()) as base_url:
        action = {"id": "quote.random", "path": "/actions/quote.random", "timeout_ms": 2000}
        declared = {
            **registration("quotes", base_url),
            "actions": [action],
            "commands": [{"name": "!quote", "action": "quote.random"}],
        }
        await _register(client, admin, declared)
        async with listen("responses.c1.*") as listener:
            body = {**CHAT, "payload": {"text": "!quote hello world"}}
            response = await client.post("/api/v1/events", json=body, headers=_headers(trigger))
            plain = {**CHAT, "payload": {"text": "!nothing here"}}
            unrouted = await client.post("/api/v1/events", json=plain, headers=_headers(trigger))
            messages = await listener.collect()
    assert response.status_code == 202
    command = (await response.get_json())["command"]
    assert command == {
        "name": "!quote",
        "action_id": "quote.random",
        "module_id": "quotes",
        "status": "ok",
        "result": {"text": "quote.random: hello world"},
    }
    assert (await unrouted.get_json())["command"] is None
    assert module.actions[0]["user_id"] == "twitch:7"
    assert module.actions[0]["params"]["args"] == ["hello", "world"]
    [(channel, answer)] = messages
    assert channel == "responses.c1.twitch"
    assert answer["command"] == command
    assert answer["channel_id"] == "chan"


async def test_dead_letters_are_listed_and_replayed_within_the_admins_scope(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin, trigger = await api_key("admin"), await api_key("trigger", communities=["c1"])
    admin_c1 = await api_key("admin", communities=["c1"])
    admin_c2 = await api_key("admin", communities=["c2"])
    module = StandInModule(fail_with=500)
    async with serve_app(module.app()) as base_url:
        await _register(client, admin, registration("flaky", base_url, subscriptions=["*"]))
        body = {**CHAT, "payload": {"text": "boom"}}
        response = await client.post("/api/v1/events", json=body, headers=_headers(trigger))
        event_id = (await response.get_json())["event_id"]
        items: list[dict[str, Any]] = []

        async def dead_letters(key: str) -> list[dict[str, Any]]:
            listed = await client.get("/api/v1/admin/deadletters", headers={"X-API-Key": key})
            assert listed.status_code == 200
            return list((await listed.get_json())["items"])

        async def buried() -> bool:
            items[:] = await dead_letters(admin)
            return bool(items)

        await wait_until(buried, what="a dead letter")
        assert [(i["event_id"], i["module_id"], i["attempts"]) for i in items] == [
            (event_id, "flaky", 3)
        ]
        assert await dead_letters(admin_c1) == items
        assert await dead_letters(admin_c2) == []
        replay = f"/api/v1/admin/deadletters/{items[0]['id']}/replay"
        denied = await client.post(replay, headers={"X-API-Key": admin_c2})
        assert denied.status_code == 404
        module.fail_with = None
        replayed = await client.post(replay, headers={"X-API-Key": admin_c1})
        assert replayed.status_code == 202
        await module.wait_for(1)
        again = await client.post(replay, headers={"X-API-Key": admin_c1})
        assert again.status_code == 404
    assert module.event_ids() == [event_id]
    assert await dead_letters(admin) == []
    peek = "/api/v1/admin/deadletters?community=c1"
    assert (await client.get(peek, headers={"X-API-Key": admin_c2})).status_code == 403
    records: list[dict[str, Any]] = []

    async def replay_audited() -> bool:
        audit = await client.get("/api/v1/admin/audit?category=AUDIT", headers={"X-API-Key": admin})
        records[:] = [
            r
            for r in (await audit.get_json())["items"]
            if "deadletters" in r["action"]
            and r["result"] == "success"
            and r["details"]["status"] == 202
        ]
        return bool(records)

    await eventually(replay_audited, timeout=5.0)
    [record] = records
    assert record["community"] == "c1"
    assert record["details"]["dead_letter"] == items[0]["id"]
