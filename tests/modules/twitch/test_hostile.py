"""Signed but hostile EventSub messages: 400, never 500, and forwarding goes on afterwards.

The module runs on loopback and forwards to a stand-in router (tests/support/router_standin.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_core import errors, jsonio
from flask_core.module import ModuleSettings
from modules.twitch.eventsub import broadcaster_of, notification_event, revocation_event
from modules.twitch.module import TwitchModule, TwitchSettings
from modules.twitch.shapes import checked_message
from tests.support.router_standin import router_standin_app
from tests.support.servers import free_port, serve_app

SECRET = b"eventsub-hostile-secret"
BROADCASTER = "44429626"


@dataclass
class Setup:
    url: str
    module: TwitchModule
    forwarded: list[dict[str, Any]]
    http: httpx.AsyncClient

    async def send(self, raw: bytes, kind: str = "notification") -> httpx.Response:
        """POST ``raw`` signed exactly as Twitch signs it."""
        stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        message_id = str(uuid.uuid4())
        digest = hmac.new(SECRET, message_id.encode() + stamp.encode() + raw, hashlib.sha256)
        headers = {
            "Twitch-Eventsub-Message-Id": message_id,
            "Twitch-Eventsub-Message-Timestamp": stamp,
            "Twitch-Eventsub-Message-Signature": f"sha256={digest.hexdigest()}",
            "Twitch-Eventsub-Message-Type": kind,
            "Content-Type": "application/json",
        }
        return await self.http.post(f"{self.url}/webhooks/twitch", content=raw, headers=headers)

    async def forwarded_text(self, text: str, timeout: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not any(e["payload"].get("text") == text for e in self.forwarded):
            assert asyncio.get_running_loop().time() < deadline, f"{text!r} never forwarded"
            await asyncio.sleep(0.02)


def chat(text: str) -> dict[str, Any]:
    return {
        "subscription": {"type": "channel.chat.message", "condition": {}},
        "event": {
            "broadcaster_user_id": BROADCASTER,
            "chatter_user_id": "1001",
            "chatter_user_login": "viewer",
            "message_id": str(uuid.uuid4()),
            "message": {"text": text},
        },
    }


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    forwarded: list[dict[str, Any]] = []
    async with serve_app(router_standin_app(forwarded)) as router_url:
        port = free_port()
        module = TwitchModule(
            TwitchSettings(
                ModuleSettings("twitch", "0.1.0", port, router_url, "trigger-key"),
                webhook_secret=SECRET,
            )
        )
        async with serve_app(module.app, port) as url, httpx.AsyncClient(timeout=10) as http:
            yield Setup(url, module, forwarded, http)


def _with(text: str, marker: str) -> bytes:
    """A chat message whose raw body carries ``marker`` where the JSON has a plain number."""
    return json.dumps({**chat(text), "extra": 0}).replace('"extra": 0', marker).encode()


@pytest.mark.parametrize(
    "marker",
    [
        '"extra": NaN',
        '"extra": Infinity',
        '"extra": -Infinity',
        '"extra": 1e999',
        '"extra": "\\ud800"',
        '"extra": {"\\udfff": 1}',
    ],
)
async def test_a_signed_event_with_nan_or_a_lone_surrogate_does_not_stop_forwarding(
    setup: Setup, marker: str
) -> None:
    refused = await setup.send(_with("poison", marker))
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_input"
    accepted = await setup.send(json.dumps(chat("still forwarded")).encode())
    assert accepted.status_code == 204
    await setup.forwarded_text("still forwarded")
    assert all(e["payload"]["text"] != "poison" for e in setup.forwarded)
    health = (await setup.http.get(f"{setup.url}/health")).json()
    assert health["status"] == "healthy" and health["forwarder"]["running"]


async def test_raw_invalid_utf8_in_a_signed_body_is_400(setup: Setup) -> None:
    raw = json.dumps(chat("PLACEHOLDER")).encode().replace(b"PLACEHOLDER", b"\xed\xa0\x80")
    assert (await setup.send(raw)).status_code == 400


WRONG_SHAPES: list[Any] = [
    {**chat("x"), "subscription": "channel.chat.message"},
    {**chat("x"), "event": "a string"},
    {**chat("x"), "event": {**chat("x")["event"], "message": "a string"}},
    {**chat("x"), "event": {**chat("x")["event"], "message": {"text": 5}}},
    {**chat("x"), "event": {**chat("x")["event"], "broadcaster_user_id": ["44429626"]}},
    {**chat("x"), "subscription": {"type": 5}},
    {**chat("x"), "subscription": {"type": "t", "condition": "c"}},
    {"subscription": {"type": "channel.follow"}},  # a notification without its event
    [chat("x")],
    "a string",
    None,
]


@pytest.mark.parametrize("body", WRONG_SHAPES)
async def test_a_signed_notification_of_the_wrong_shape_is_400(setup: Setup, body: Any) -> None:
    response = await setup.send(json.dumps(body).encode())
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("webhook_callback_verification", {"challenge": 5}),
        ("webhook_callback_verification", {}),
        ("revocation", {"subscription": "gone"}),
        ("revocation", {}),
        ("something_else", chat("x")),
    ],
)
async def test_other_message_kinds_of_the_wrong_shape_are_400(
    setup: Setup, kind: str, body: Any
) -> None:
    assert (await setup.send(json.dumps(body).encode(), kind)).status_code == 400


async def test_deep_nesting_is_400(setup: Setup) -> None:
    deep = json.dumps(chat("x"))[:-1] + ', "extra": ' + "[" * 900 + "]" * 900 + "}"
    assert (await setup.send(deep.encode())).status_code == 400
    fine = json.dumps(chat("x"))[:-1] + ', "extra": ' + "[" * 30 + "]" * 30 + "}"
    assert (await setup.send(fine.encode())).status_code == 204


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "subscription",
                    "event",
                    "type",
                    "condition",
                    "message",
                    "text",
                    "challenge",
                    "broadcaster_user_id",
                    "chatter_user_id",
                    "status",
                    "id",
                    "user_id",
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
@given(
    body=_json,
    kind=st.sampled_from(["notification", "revocation", "webhook_callback_verification", "x"]),
)
def test_any_json_is_either_refused_with_400_or_turned_into_a_strict_event(
    body: Any, kind: str
) -> None:
    """The checks in front of the event builders: nothing gets through them that crashes."""
    try:
        message = checked_message(kind, jsonio.loads(json.dumps(body)))
    except (errors.BadRequest, jsonio.InvalidJSON) as refused:
        assert refused.status_code == 400
        return
    if kind == "notification":
        jsonio.dumpb(notification_event(message, "m-1", "2026-01-01T00:00:00Z"))
    elif kind == "revocation":
        jsonio.dumpb(revocation_event(message, "m-1", "2026-01-01T00:00:00Z"))
    else:
        assert isinstance(message["challenge"], str)
    broadcaster = broadcaster_of(message)
    assert broadcaster is None or isinstance(broadcaster, str)
