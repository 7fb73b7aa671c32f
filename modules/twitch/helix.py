"""Replies to Twitch chat through Helix ``POST /helix/chat/messages`` (SPEC §11).

The bot sends as ``TWITCH_BOT_USER_ID`` with an app access token (client credentials grant).
The token is cached and renewed a minute before it expires, and at once after a 401 (one
retry), so a token revoked early costs one extra call, not a lost reply.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from flask_core.logging import get_logger
from flask_core.replies import (
    Attempt,
    Outcome,
    Reply,
    RetryBudget,
    TransientFailure,
    clip,
    send_with_retries,
)

MAX_MESSAGE = 500  # Helix refuses longer chat messages
RENEW_BEFORE_SECONDS = 60.0
_PERMANENT = frozenset({400, 403, 404, 422})
_log = get_logger("modules.twitch.helix")


@dataclass(frozen=True)
class HelixCredentials:
    client_id: str
    client_secret: str = field(repr=False)
    bot_user_id: str
    api_base: str = "https://api.twitch.tv"
    auth_base: str = "https://id.twitch.tv"


class AppToken:
    """The app access token, fetched once and shared by concurrent sends."""

    def __init__(self, http: httpx.AsyncClient, credentials: HelixCredentials) -> None:
        self._http = http
        self._credentials = credentials
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        async with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                await self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` after Twitch refused it (unless another call renewed it already)."""
        if self._token == token:
            self._token = None

    async def _fetch(self) -> None:
        form = {
            "client_id": self._credentials.client_id,
            "client_secret": self._credentials.client_secret,
            "grant_type": "client_credentials",
        }
        url = f"{self._credentials.auth_base}/oauth2/token"
        try:
            response = await self._http.post(url, data=form)
        except httpx.HTTPError as error:
            raise TransientFailure(f"token endpoint unreachable: {type(error).__name__}") from None
        if response.status_code != 200:
            # 400/401/403 here mean wrong credentials: no reply can go out until an operator
            # fixes them, so the router keeps the replies (retries, then dead letters).
            raise TransientFailure(f"token endpoint answered {response.status_code}")
        body = response.json()
        self._token = str(body["access_token"])
        lifetime = float(body.get("expires_in", 3600))
        self._expires_at = time.monotonic() + max(lifetime - RENEW_BEFORE_SECONDS, lifetime / 2)


class HelixChat:
    """Post replies in a broadcaster's chat as the bot."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: HelixCredentials,
        budget: RetryBudget | None = None,
    ) -> None:
        self._http = http
        self._credentials = credentials
        self._budget = budget or RetryBudget()
        self.token = AppToken(http, credentials)

    def body(self, reply: Reply) -> dict[str, Any]:
        """The Helix request body of ``reply``, threaded under the message it answers."""
        body: dict[str, Any] = {
            "broadcaster_id": reply.channel_id,
            "sender_id": self._credentials.bot_user_id,
            "message": clip(reply.text, MAX_MESSAGE),
        }
        if reply.in_reply_to:
            body["reply_parent_message_id"] = reply.in_reply_to
        return body

    async def send(self, reply: Reply) -> Outcome:
        renewed = False

        async def attempt() -> Attempt:
            nonlocal renewed
            result = await self._post(reply)
            if result is _EXPIRED and not renewed:
                renewed = True  # one retry with a fresh token, at once
                result = await self._post(reply)
            if result is _EXPIRED:
                return Attempt.retry(1.0, "Helix refused a fresh token (401)")
            return result

        return await send_with_retries(attempt, self._budget)

    async def _post(self, reply: Reply) -> Attempt:
        token = await self.token.get()
        headers = {"Authorization": f"Bearer {token}", "Client-Id": self._credentials.client_id}
        url = f"{self._credentials.api_base}/helix/chat/messages"
        try:
            response = await self._http.post(url, json=self.body(reply), headers=headers)
        except httpx.HTTPError as error:
            return Attempt.retry(0.0, f"Helix unreachable: {type(error).__name__}")
        if response.status_code == 401:
            self.token.invalidate(token)
            return _EXPIRED
        return self._judge(reply, response)

    def _judge(self, reply: Reply, response: httpx.Response) -> Attempt:
        status = response.status_code
        if status == 429:
            return Attempt.retry(_reset_wait(response), "Helix rate limit (429)")
        if status >= 500:
            return Attempt.retry(0.0, f"Helix answered {status}")
        if status in _PERMANENT or status >= 400:
            return _refused(reply, f"Helix answered {status}: {_message_of(response)}")
        dropped = _drop_reason(response)
        if dropped is not None:
            return _refused(reply, f"Twitch dropped the message: {dropped}")
        return Attempt(Outcome.SENT)


_EXPIRED = Attempt.retry(0.0, "token expired")


def _refused(reply: Reply, reason: str) -> Attempt:
    _log.warning(
        "reply to twitch #%s refused for good: %s",
        reply.channel_id,
        reason,
        extra={"event_type": "SYSTEM", "community": reply.community_id, "result": "refused"},
    )
    return Attempt(Outcome.REFUSED, reason=reason)


def _reset_wait(response: httpx.Response, now: float | None = None) -> float:
    """Seconds until ``Ratelimit-Reset`` (a Unix epoch in seconds); 1 s when absent."""
    try:
        reset = float(response.headers["Ratelimit-Reset"])
    except (KeyError, ValueError):
        return 1.0
    return max(0.0, reset - (time.time() if now is None else now))


def _drop_reason(response: httpx.Response) -> str | None:
    """Why Twitch accepted the call but did not send the message (``is_sent`` false)."""
    try:
        data = response.json().get("data") or []
    except (ValueError, AttributeError):
        return None
    first = data[0] if data and isinstance(data[0], dict) else {}
    if first.get("is_sent", True):
        return None
    reason = first.get("drop_reason") or {}
    if isinstance(reason, dict):
        return f"{reason.get('code', 'unknown')}: {reason.get('message', '')}".strip(": ")
    return str(reason)


def _message_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("message", "")) if isinstance(body, dict) else ""
