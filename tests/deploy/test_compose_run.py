"""The compose stack started for real (minus containers) and the README's tour run against it.

``docker-compose.yml`` is read as Compose reads it (``.env`` interpolation), then every service's
own ``command`` runs on loopback with that service's environment (see
``tests/support/compose_stack.py`` for the mapping); the router runs as two replicas on the
session's PostgreSQL database and Redis. The secrets come from the stack's own ``secrets``
service, i.e. the documented ``python -m router secrets init``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from nacl.signing import SigningKey

from tests.support.compose import load_compose, read_env_file
from tests.support.compose_stack import ComposeStack

REPO = Path(__file__).resolve().parents[2]
CHANNEL = "44429626"  # the README's example channel

pytestmark = pytest.mark.slow


@pytest.fixture
async def stack(database_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[ComposeStack]:
    env = {
        **read_env_file(REPO / ".env.example"),
        "TWITCH_WEBHOOK_SECRET": secrets.token_hex(16),
        "DISCORD_PUBLIC_KEY": SigningKey.generate().verify_key.encode().hex(),
        "DISCORD_APPLICATION_ID": "1234567890",
        "LOG_LEVEL": "WARNING",
    }
    compose = load_compose(REPO / "docker-compose.yml", env)
    running = ComposeStack(compose, tmp_path, database_url, redis_url, replicas={"router": 2})
    try:
        await running.up()
        yield running
    finally:
        running.down()
    leftovers = [i.service for i in running.instances if i.process.poll() is None]
    assert not leftovers, f"still running: {leftovers}"


def _signed(secret: str, text: str) -> tuple[bytes, dict[str, str]]:
    """A Twitch EventSub channel.chat.message notification, signed as Twitch signs it."""
    body = json.dumps(
        {
            "subscription": {"type": "channel.chat.message", "condition": {}},
            "event": {
                "broadcaster_user_id": CHANNEL,
                "chatter_user_id": "1001",
                "chatter_user_login": "viewer",
                "message_id": str(uuid.uuid4()),
                "message": {"text": text},
            },
        }
    ).encode()
    message_id, stamp = str(uuid.uuid4()), datetime.now(UTC).isoformat().replace("+00:00", "Z")
    digest = hmac.new(secret.encode(), message_id.encode() + stamp.encode() + body, hashlib.sha256)
    return body, {
        "Twitch-Eventsub-Message-Id": message_id,
        "Twitch-Eventsub-Message-Timestamp": stamp,
        "Twitch-Eventsub-Message-Signature": f"sha256={digest.hexdigest()}",
        "Twitch-Eventsub-Message-Type": "notification",
        "Content-Type": "application/json",
    }


async def _next_response(pubsub: Any, seconds: float = 20) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
        if message and isinstance(message.get("data"), bytes):
            answer: dict[str, Any] = json.loads(message["data"])
            return answer
    raise TimeoutError("no command response was published")


async def test_the_stack_starts_and_the_readme_tour_runs(
    stack: ComposeStack, redis_url: str
) -> None:
    routers = [stack.instance_of("router", replica).base_url for replica in (0, 1)]
    admin = (stack.directory / "volumes" / "secrets" / "admin.key").read_text()
    # Each module's volume holds its own key only; the router's, the signing key and the keys.
    for module in ("quotes", "twitch", "discord"):
        held = [p.name for p in (stack.directory / "volumes" / f"{module}-secrets").iterdir()]
        assert held == ["ROUTER_API_KEY"], module
    held = {p.name for p in (stack.directory / "volumes" / "router-secrets").iterdir()}
    assert held == {"signing_key.pem", "bootstrap-keys.json"}
    headers = {"X-API-Key": admin}
    async with httpx.AsyncClient(timeout=10) as http:
        # Both replicas serve, and every module registered with its bound key.
        for url in routers:
            modules = (await http.get(f"{url}/api/v1/modules", headers=headers)).json()
            healthy = {m["module_id"] for m in modules["items"] if m["status"] == "healthy"}
            assert healthy == {"quotes", "twitch", "discord"}
        created = await http.post(
            f"{routers[0]}/api/v1/admin/communities",
            json={"id": "demo", "name": "Demo"},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        linked = await http.post(
            f"{routers[1]}/api/v1/admin/communities/demo/channels",
            json={"platform": "twitch", "channel_id": CHANNEL},
            headers=headers,
        )
        assert linked.status_code == 201, linked.text

        twitch = stack.instance_of("twitch").base_url
        secret = stack.environment("twitch", 0)["TWITCH_WEBHOOK_SECRET"]
        listener = aioredis.Redis.from_url(redis_url)
        pubsub = listener.pubsub()
        await pubsub.psubscribe("*responses.demo.twitch")
        try:
            replies = []
            for text in ("!addquote hello", "!quote"):
                body, signed = _signed(secret, text)
                sent = await http.post(f"{twitch}/webhooks/twitch", content=body, headers=signed)
                assert sent.status_code == 204, sent.text
                replies.append(await _next_response(pubsub))
        finally:
            await pubsub.aclose()
            await listener.aclose()
    added, quoted = (reply["command"] for reply in replies)
    assert added["status"] == "ok", added
    assert quoted["status"] == "ok", quoted
    assert "hello" in json.dumps(quoted["result"])
    assert all(reply["channel_id"] == CHANNEL for reply in replies)
