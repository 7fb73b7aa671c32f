"""Well-formed but hostile input never makes the router answer 500 (SPEC §2).

The attacks: a lone surrogate (``\\ud800``) in an event payload, a response text and action
params (the latter refused before any breaker is asked); a payload nested 900 deep; dead-letter
ids such as ``ca:99999999999999999999-1`` or Unicode digits; ``1e999`` and ``NaN``; a module
answering ``Infinity``, which must not be re-emitted as invalid JSON.
"""

from __future__ import annotations

import json

import pytest
import redis.asyncio as aioredis
from quart import Quart
from quart.typing import TestClientProtocol

from flask_core import errors
from flask_core.keyspace import DEFAULT_KEYSPACE
from tests.support.keys import KeyFactory
from tests.support.servers import serve_app
from tests.support.standin import Behaviour, registration, standin_app

SURROGATE = '"\\ud800"'
DEEP = '{"a":' * 900 + "1" + "}" * 900


def _headers(key: str) -> dict[str, str]:
    return {"X-API-Key": key, "X-Community-ID": "c1", "Content-Type": "application/json"}


async def _post(client: TestClientProtocol, path: str, key: str, raw: str) -> tuple[int, str]:
    response = await client.post(path, data=raw.encode(), headers=_headers(key))
    text = (await response.get_data()).decode()
    json.loads(text)  # whatever the answer, it is valid JSON
    return response.status_code, text


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/api/v1/events", '{"platform": "twitch", "type": "chat.message", "payload": %s}'),
        (
            "/api/v1/events/batch",
            '{"events": [{"platform": "twitch", "type": "x.y", "payload": %s}]}',
        ),
        ("/api/v1/responses", '{"platform": "twitch", "channel_id": "1", "text": %s}'),
        ("/api/v1/responses", '{"platform": "twitch", "channel_id": "1", "payload": %s}'),
    ],
)
@pytest.mark.parametrize(
    "value",
    [
        f'{{"text": {SURROGATE}}}',
        SURROGATE,
        DEEP,
        '{"n": 1e999}',
        '{"n": NaN}',
        '{"n": -Infinity}',
        '{"\\udfff": 1}',
    ],
)
async def test_hostile_event_and_response_bodies_are_400(
    client: TestClientProtocol, api_key: KeyFactory, path: str, template: str, value: str
) -> None:
    key = await api_key("core", communities=["c1"])
    status, text = await _post(client, path, key, template % value)
    assert status == 400, text
    assert json.loads(text)["error"] == "invalid_input"
    assert "Infinity" not in text and "NaN" not in text


async def test_hostile_action_params_are_refused_before_any_breaker_is_asked(
    app: Quart, client: TestClientProtocol, api_key: KeyFactory, redis: aioredis.Redis
) -> None:
    admin, user = await api_key("admin"), await api_key("user", communities=["c1"])
    behaviour = Behaviour()
    async with serve_app(standin_app("i1", behaviour)) as url:
        registered = await client.post(
            "/api/v1/register",
            json=registration("mod", url),
            headers={"X-API-Key": admin},
        )
        assert registered.status_code == 201
        path = "/api/v1/action/mod.echo"
        for params in (f'{{"text": {SURROGATE}}}', DEEP, '{"n": 1e999}', '{"n": NaN}'):
            raw = f'{{"user_id": "twitch:1", "params": {params}}}'
            for _ in range(6):  # more than enough failures to open a breaker
                status, _ = await _post(client, path, user, raw)
                assert status == 400
        assert behaviour.calls == []
        breakers = await redis.keys(f"{DEFAULT_KEYSPACE.breaker_prefix}*")
        assert breakers == []  # no admission was ever asked for
        good = '{"user_id": "twitch:1", "params": {"text": "hi"}}'
        assert (await _post(client, path, user, good))[0] == 200
        assert len(behaviour.calls) == 1


async def test_a_module_answering_infinity_is_a_502_never_invalid_json(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin, user = await api_key("admin"), await api_key("user", communities=["c1"])
    behaviour = Behaviour(raw=b'{"value": Infinity, "n": NaN}')
    async with serve_app(standin_app("i1", behaviour)) as url:
        await client.post(
            "/api/v1/register", json=registration("mod", url), headers={"X-API-Key": admin}
        )
        good = '{"user_id": "twitch:1", "params": {}}'
        status, text = await _post(client, "/api/v1/action/mod.echo", user, good)
    assert status == 502 and "Infinity" not in text


@pytest.mark.parametrize(
    "dead_id",
    [
        "ca:99999999999999999999-1",
        "ca:1-99999999999999999999",
        "ca:18446744073709551616-0",
        "ca:\u0661\u0662-1",  # Arabic-Indic digits
        "ca:\u00b2-1",  # superscript two
        "ca:1-",
        "ca",
        ":1-1",
        "bad community!:1-1",
    ],
)
async def test_odd_dead_letter_ids_are_404(
    client: TestClientProtocol, api_key: KeyFactory, dead_id: str
) -> None:
    admin = await api_key("admin")
    response = await client.post(
        f"/api/v1/admin/deadletters/{dead_id}/replay", headers={"X-API-Key": admin}
    )
    assert response.status_code == 404
    assert (await response.get_json())["error"] == "not_found"


@pytest.mark.parametrize("limit", ["\u00b2", "\u0661", "99999999999999999999", "0", "-1"])
async def test_odd_dead_letter_limits_are_400(
    client: TestClientProtocol, api_key: KeyFactory, limit: str
) -> None:
    admin = await api_key("admin")
    response = await client.get(
        "/api/v1/admin/deadletters", query_string={"limit": limit}, headers={"X-API-Key": admin}
    )
    assert response.status_code == 400


async def test_a_body_that_cannot_be_sent_is_refused_before_admission(
    app: Quart, client: TestClientProtocol, api_key: KeyFactory, redis: aioredis.Redis
) -> None:
    """Chat commands reach the dispatcher without the HTTP reader: it checks on its own."""
    admin = await api_key("admin")
    behaviour = Behaviour()
    async with serve_app(standin_app("i1", behaviour)) as url:
        await client.post(
            "/api/v1/register", json=registration("mod", url), headers={"X-API-Key": admin}
        )
        dispatcher = app.extensions["router"].dispatcher
        for params in ({"text": "\ud800"}, {"n": float("inf")}, {"n": float("nan")}):
            with pytest.raises(errors.ValidationError):
                await dispatcher.dispatch("mod.echo", "c1", "twitch:1", {}, params, "req-1")
    assert behaviour.calls == []
    assert await redis.keys(f"{DEFAULT_KEYSPACE.breaker_prefix}*") == []
