"""Signed but hostile Discord bodies: 400 on the wrong shape, 401 on a stale timestamp, no 500.

Signature, freshness and shape are checked before anything is routed, so the module runs here
against a stand-in router on loopback (tests/support/router_standin.py).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from flask_core import errors, jsonio
from flask_core.module import ModuleSettings
from modules.discord.interactions import command_event, guild_of, webhook_event
from modules.discord.module import DiscordModule, DiscordSettings
from modules.discord.shapes import checked_interaction, checked_webhook_event
from tests.support.router_standin import router_standin_app
from tests.support.servers import free_port, serve_app

SIGNER = SigningKey.generate()
INTERACTIONS = "/webhooks/discord/interactions"
EVENTS = "/webhooks/discord/events"


@dataclass
class Setup:
    url: str
    forwarded: list[dict[str, Any]]
    http: httpx.AsyncClient

    async def send(self, path: str, raw: bytes, stamp: str | None = None) -> httpx.Response:
        stamp = str(int(time.time())) if stamp is None else stamp
        signature = SIGNER.sign(stamp.encode() + raw).signature.hex()
        headers = {
            "X-Signature-Ed25519": signature,
            "X-Signature-Timestamp": stamp,
            "Content-Type": "application/json",
        }
        return await self.http.post(f"{self.url}{path}", content=raw, headers=headers)


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    forwarded: list[dict[str, Any]] = []
    async with serve_app(router_standin_app(forwarded)) as router_url:
        port = free_port()
        module = DiscordModule(
            DiscordSettings(
                ModuleSettings("discord", "0.1.0", port, router_url, "trigger-key"),
                public_key=SIGNER.verify_key.encode().hex(),
                application_id="app-1",
                api_base="http://127.0.0.1:9/api",  # never reached in these tests
            )
        )
        async with serve_app(module.app, port) as url, httpx.AsyncClient(timeout=10) as http:
            yield Setup(url, forwarded, http)


def command(**data: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": 2,
        "token": "t",
        "guild_id": "g1",
        "channel_id": "555",
        "member": {"user": {"id": "42"}},
        "data": {"name": "quote", "options": [], **data},
    }


@pytest.mark.parametrize(
    "stamp",
    [
        "1",
        "hello",
        str(int(time.mktime((2001, 9, 9, 1, 46, 40, 0, 0, 0)))),
        "",
        "-5",
        "1e9",
        "99999999999999999999",
        "stale",
        "future",
    ],
)
async def test_a_stale_or_odd_timestamp_is_refused_even_with_a_valid_signature(
    setup: Setup, stamp: str
) -> None:
    if stamp == "stale":
        stamp = str(int(time.time()) - 301)
    elif stamp == "future":
        stamp = str(int(time.time()) + 90)  # well past the 60 s allowance, even on a slow machine
    for path, body in ((INTERACTIONS, command()), (EVENTS, {"type": 0})):
        response = await setup.send(path, json.dumps(body).encode(), stamp)
        assert response.status_code == 401, (path, stamp)


async def test_a_timestamp_within_the_window_is_taken(setup: Setup) -> None:
    stamp = str(int(time.time()) - 240)
    assert (await setup.send(INTERACTIONS, b'{"type": 1}', stamp)).json() == {"type": 1}


@pytest.mark.parametrize(
    "body",
    [
        {**command(), "data": "a string"},
        command(options=5),
        command(options=["a string"]),
        command(options=[{"name": 5, "value": "x"}]),
        {**command(), "member": {"user": "42"}},
        {**command(), "guild_id": 5},
        {**command(), "type": "2"},
        {"data": {"name": "quote"}},  # no type
        [command()],
        "a string",
    ],
)
async def test_an_interaction_of_the_wrong_shape_is_400(setup: Setup, body: Any) -> None:
    response = await setup.send(INTERACTIONS, json.dumps(body).encode())
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    "body",
    [
        {"type": 1, "event": "a string"},
        {"type": 1, "event": {"type": "X", "data": "a string"}},
        {"type": 1, "event": {"type": "X", "data": {"guild": "g1"}}},
        {"type": 1, "event": {"type": 5, "data": {}}},
        {"type": "1"},
    ],
)
async def test_a_webhook_event_of_the_wrong_shape_is_400(setup: Setup, body: Any) -> None:
    response = await setup.send(EVENTS, json.dumps(body).encode())
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    "raw",
    [
        b'{"type": 1, "x": NaN}',
        b'{"type": 1, "x": "\\ud800"}',
        b'{"type": 1, "x": 1e999}',
        b'{"type": 1, "x": ' + b"[" * 900 + b"]" * 900 + b"}",
        b'{"type": 1, "x": "\xed\xa0\x80"}',
    ],
)
async def test_hostile_json_is_400_on_both_routes(setup: Setup, raw: bytes) -> None:
    for path in (INTERACTIONS, EVENTS):
        assert (await setup.send(path, raw)).status_code == 400


async def test_after_hostile_bodies_a_valid_webhook_event_is_still_forwarded(setup: Setup) -> None:
    await setup.send(EVENTS, b'{"type": 1, "event": {"type": "X", "data": NaN}}')
    event = {
        "type": 1,
        "event": {"type": "APPLICATION_AUTHORIZED", "data": {"guild": {"id": "g1"}}},
    }
    assert (await setup.send(EVENTS, json.dumps(event).encode())).status_code == 204
    for _ in range(250):
        if setup.forwarded:
            break
        await asyncio.sleep(0.02)
    assert [e["type"] for e in setup.forwarded] == ["APPLICATION_AUTHORIZED"]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "id",
                    "data",
                    "name",
                    "options",
                    "value",
                    "member",
                    "user",
                    "guild_id",
                    "channel_id",
                    "event",
                    "guild",
                    "timestamp",
                    "token",
                ]
            )
            | st.text(max_size=5),
            inner,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_json)
def test_any_interaction_is_refused_with_400_or_becomes_a_strict_event(body: Any) -> None:
    try:
        interaction = checked_interaction(jsonio.loads(json.dumps(body)))
    except (errors.BadRequest, jsonio.InvalidJSON) as refused:
        assert refused.status_code == 400
        return
    jsonio.dumpb(command_event(interaction))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_json)
def test_any_webhook_event_is_refused_with_400_or_becomes_a_strict_event(body: Any) -> None:
    raw = json.dumps(body).encode()
    try:
        event = checked_webhook_event(jsonio.loads(raw))
    except (errors.BadRequest, jsonio.InvalidJSON) as refused:
        assert refused.status_code == 400
        return
    jsonio.dumpb(webhook_event(event, raw))
    guild = guild_of(event)
    assert guild is None or isinstance(guild, str)
