"""Stand-in Twitch and Discord APIs: real HTTP servers a test starts, recording what they got.

They answer like the platforms do (token grant, Helix ``chat/messages``, Discord channel
messages and interaction edits), so modules running as real processes can be pointed at them
through ``TWITCH_API_BASE``, ``TWITCH_AUTH_BASE`` and ``DISCORD_API_BASE``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from quart import Quart, Response, request

TOKEN = "standin-app-token"


@dataclass
class Posted:
    """Every message the stand-in accepted, in order."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    token_grants: list[dict[str, str]] = field(default_factory=list)

    async def wait_for(self, count: int, seconds: float = 20.0) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while len(self.messages) < count and loop.time() < deadline:
            await asyncio.sleep(0.05)
        return self.messages

    async def wait_until(self, wanted: dict[str, Any], seconds: float = 20.0) -> dict[str, Any]:
        """The first posted message containing every item of ``wanted``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            for message in self.messages:
                if wanted.items() <= message.items():
                    return message
            await asyncio.sleep(0.05)
        raise TimeoutError(f"no message like {wanted}; got {self.messages}")


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status, content_type="application/json")


def twitch_api(posted: Posted) -> Quart:
    """``POST /oauth2/token`` (client credentials) and ``POST /helix/chat/messages``."""
    app = Quart("standin-twitch")

    @app.post("/oauth2/token")
    async def token() -> Response:
        form = await request.form
        posted.token_grants.append(dict(form))
        if form.get("grant_type") != "client_credentials":
            return _json({"status": 400, "message": "invalid grant type"}, 400)
        return _json({"access_token": TOKEN, "expires_in": 5000000, "token_type": "bearer"})

    @app.post("/helix/chat/messages")
    async def chat_message() -> Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _json({"status": 401, "message": "Invalid OAuth token"}, 401)
        posted.messages.append(await request.get_json(force=True))
        posted.headers.append({name.lower(): value for name, value in request.headers.items()})
        sent = {"message_id": str(uuid.uuid4()), "is_sent": True, "drop_reason": None}
        return _json({"data": [sent]})

    return app


def discord_api(posted: Posted) -> Quart:
    """``POST /channels/{id}/messages`` and ``PATCH /webhooks/{app}/{token}/messages/@original``."""
    app = Quart("standin-discord")

    @app.post("/channels/<channel_id>/messages")
    async def channel_message(channel_id: str) -> Response:
        body = await request.get_json(force=True)
        posted.messages.append({"channel_id": channel_id, **body})
        posted.headers.append({name.lower(): value for name, value in request.headers.items()})
        return _json({"id": str(uuid.uuid4().int >> 64), "channel_id": channel_id, **body})

    @app.patch("/webhooks/<application_id>/<token>/messages/@original")
    async def edit_original(application_id: str, token: str) -> Response:
        body = await request.get_json(force=True)
        posted.messages.append({"edited": token, **body})
        return _json(body)

    return app
