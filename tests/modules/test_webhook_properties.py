"""Property: a validly signed webhook body, whatever it holds, never gets a 500.

Each example goes through the module's whole Quart route (signature, freshness, strict JSON,
shape, event building, queueing). The router is not reachable here (a closed loopback port):
the routes answer from what they checked, and events only wait in the forwarder's queue.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey
from quart import Quart

from flask_core.module import ModuleSettings
from modules.discord.module import DiscordModule, DiscordSettings
from modules.twitch.module import TwitchModule, TwitchSettings
from tests.support.servers import free_port

SECRET = b"property-secret"
SIGNER = SigningKey.generate()
CLOSED_ROUTER = f"http://127.0.0.1:{free_port()}"

_keys = st.sampled_from(
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
        "guild",
        "channel_id",
        "event",
        "timestamp",
        "token",
        "subscription",
        "condition",
        "message",
        "text",
        "challenge",
        "broadcaster_user_id",
        "chatter_user_id",
        "status",
    ]
) | st.text(max_size=5)
_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=5),
    max_leaves=25,
)
# Valid JSON, or anything at all, or JSON with the hostile tokens spliced in.
_bodies = st.one_of(
    _json.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=120),
    st.tuples(_json, st.sampled_from(["NaN", "Infinity", '"\\ud800"', "1e999", "[" * 80])).map(
        lambda pair: (
            json.dumps({"type": 1, "x": pair[0]})[:-1].encode()
            + b', "y": '
            + pair[1].encode()
            + b"}"
        )
    ),
)


@cache
def _discord_app() -> Quart:
    settings = DiscordSettings(
        ModuleSettings("discord", "0.1.0", free_port(), CLOSED_ROUTER, "key"),
        public_key=SIGNER.verify_key.encode().hex(),
        application_id="app",
        api_base=CLOSED_ROUTER,
    )
    return DiscordModule(settings).app


@cache
def _twitch_app() -> Quart:
    settings = TwitchSettings(
        ModuleSettings("twitch", "0.1.0", free_port(), CLOSED_ROUTER, "key"),
        webhook_secret=SECRET,
    )
    return TwitchModule(settings).app


async def _discord_status(path: str, raw: bytes) -> int:
    stamp = str(int(time.time()))
    headers = {
        "X-Signature-Ed25519": SIGNER.sign(stamp.encode() + raw).signature.hex(),
        "X-Signature-Timestamp": stamp,
        "Content-Type": "application/json",
    }
    response = await _discord_app().test_client().post(path, data=raw, headers=headers)
    return response.status_code


async def _twitch_status(kind: str, raw: bytes) -> int:
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
    response = await _twitch_app().test_client().post("/webhooks/twitch", data=raw, headers=headers)
    return response.status_code


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=_bodies, path=st.sampled_from(["/interactions", "/events"]))
def test_a_signed_discord_body_never_gets_a_server_error(raw: bytes, path: str) -> None:
    status = asyncio.run(_discord_status(f"/webhooks/discord{path}", raw))
    assert status < 500 or status == 503, status  # 503 only when the queue is full


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    raw=_bodies,
    kind=st.sampled_from(["notification", "revocation", "webhook_callback_verification", "x"]),
)
def test_a_signed_twitch_body_never_gets_a_server_error(raw: bytes, kind: str) -> None:
    status = asyncio.run(_twitch_status(kind, raw))
    assert status < 500 or status == 503, status
