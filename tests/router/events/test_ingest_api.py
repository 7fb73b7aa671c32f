"""POST /api/v1/events, /events/batch and /responses through the real app."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from quart import Quart
from quart.typing import TestClientProtocol

from router.app import create_app
from router.settings import RouterSettings
from tests.conftest import KeyFactory, settings_with
from tests.support.stores import ALL_REDIS_MODES

pytestmark = ALL_REDIS_MODES

EVENT = {"platform": "twitch", "type": "chat.message", "payload": {"text": "hello"}}


def _headers(key: str, community: str = "c1") -> dict[str, str]:
    return {"X-API-Key": key, "X-Community-ID": community}


async def test_an_accepted_event_is_published_once_with_its_envelope(
    client: TestClientProtocol, api_key: KeyFactory, listen: Callable[..., Any]
) -> None:
    key = await api_key("trigger", communities=["c1"], module_id="twitch")
    event_id = str(uuid.uuid4())
    body = {**EVENT, "event_id": event_id, "user_id": "twitch:42", "channel_id": "chan"}
    async with listen("events.c1.*") as listener:
        first = await client.post("/api/v1/events", json=body, headers=_headers(key))
        again = await client.post("/api/v1/events", json=body, headers=_headers(key))
        messages = await listener.collect()
    assert first.status_code == 202
    assert await first.get_json() == {"event_id": event_id, "duplicate": False, "command": None}
    assert again.status_code == 200
    assert await again.get_json() == {"event_id": event_id, "duplicate": True}
    exposition = await (await client.get("/metrics")).get_data(as_text=True)
    assert 'router_events_ingested_total{result="accepted"} 1.0' in exposition
    assert 'router_events_ingested_total{result="duplicate"} 1.0' in exposition
    [(channel, envelope)] = messages
    assert channel == "events.c1.chat.message"
    assert envelope["source"] == "twitch"
    assert envelope["community_id"] == "c1"
    assert envelope["user_id"] == "twitch:42"
    assert envelope["occurred_at"] == envelope["received_at"]
    assert set(envelope) == {
        "event_id", "community_id", "platform", "type", "user_id", "channel_id",
        "occurred_at", "received_at", "payload", "source",
    }  # fmt: skip


async def test_input_and_access_are_checked(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    trigger = await api_key("trigger", communities=["c1"])
    action = await api_key("action", communities=["c1"])
    cases = [
        ({**EVENT, "platform": "irc"}, _headers(trigger), 400),
        ({**EVENT, "user_id": "nope"}, _headers(trigger), 400),
        ({**EVENT, "event_id": "not-a-uuid"}, _headers(trigger), 400),
        ({**EVENT, "occurred_at": "yesterday"}, _headers(trigger), 400),
        ({**EVENT, "type": "chat.*"}, _headers(trigger), 400),
        ({**EVENT, "payload": "text"}, _headers(trigger), 400),
        (EVENT, {"X-API-Key": trigger}, 400),
        (EVENT, _headers(trigger, "c2"), 403),
        (EVENT, _headers(action), 403),
        (EVENT, {"X-Community-ID": "c1"}, 401),
    ]
    for body, headers, status in cases:
        response = await client.post("/api/v1/events", json=body, headers=headers)
        assert response.status_code == status, (body, headers)
        assert response.content_type == "application/problem+json"


async def test_a_batch_is_accepted_in_order(
    client: TestClientProtocol, api_key: KeyFactory, listen: Callable[..., Any]
) -> None:
    key = await api_key("core", communities=["*"])
    seen = str(uuid.uuid4())
    events = [{**EVENT, "payload": {"text": str(n)}} for n in range(4)]
    events.append({**EVENT, "event_id": seen})
    events.append({**EVENT, "event_id": seen})
    async with listen("events.c1.*") as listener:
        response = await client.post(
            "/api/v1/events/batch", json={"events": events}, headers=_headers(key)
        )
        messages = await listener.collect()
    assert response.status_code == 202
    results = (await response.get_json())["results"]
    assert [r["duplicate"] for r in results] == [False] * 5 + [True]
    assert [m[1]["event_id"] for m in messages] == [r["event_id"] for r in results[:5]]
    assert [m[1]["payload"].get("text") for m in messages[:4]] == ["0", "1", "2", "3"]
    too_many = await client.post(
        "/api/v1/events/batch", json={"events": [EVENT] * 101}, headers=_headers(key)
    )
    empty = await client.post("/api/v1/events/batch", json={"events": []}, headers=_headers(key))
    assert (too_many.status_code, empty.status_code) == (400, 400)


async def test_responses_are_published_for_the_platform(
    client: TestClientProtocol, api_key: KeyFactory, listen: Callable[..., Any]
) -> None:
    key = await api_key("action", communities=["c1"], module_id="quotes")
    body = {"platform": "twitch", "channel_id": "chan", "text": "hi", "in_reply_to": "e1"}
    async with listen("responses.c1.*") as listener:
        response = await client.post("/api/v1/responses", json=body, headers=_headers(key))
        empty = await client.post(
            "/api/v1/responses",
            json={"platform": "twitch", "channel_id": "x"},
            headers=_headers(key),
        )
        messages = await listener.collect()
    assert response.status_code == 202
    assert empty.status_code == 400
    [(channel, message)] = messages
    assert channel == "responses.c1.twitch"
    assert message["text"] == "hi"
    assert message["source"] == "quotes"
    assert message["in_reply_to"] == "e1"


async def test_openapi_lists_the_event_routes(app: Quart) -> None:
    spec = await (await app.test_client().get("/openapi.json")).get_json()
    for path in ("/api/v1/events", "/api/v1/events/batch", "/api/v1/responses"):
        assert "post" in spec["paths"][path]
    assert "get" in spec["paths"]["/api/v1/admin/deadletters"]


async def test_the_per_user_limit_applies_to_events_naming_a_user(
    settings: RouterSettings, api_key: KeyFactory
) -> None:
    application = create_app(settings_with(settings, rate_limit_user="2/minute"))
    async with application.test_app():
        client = application.test_client()
        key = await api_key("trigger", communities=["c1"], app=application)
        body = {**EVENT, "user_id": "twitch:spammer"}
        codes = [
            (await client.post("/api/v1/events", json=body, headers=_headers(key))).status_code
            for _ in range(3)
        ]
        other = await client.post(
            "/api/v1/events", json={**EVENT, "user_id": "twitch:calm"}, headers=_headers(key)
        )
    assert codes == [202, 202, 429]
    assert other.status_code == 202
