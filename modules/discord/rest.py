"""Replies to Discord channels through ``POST /channels/{id}/messages`` (SPEC §11)."""

from __future__ import annotations

from typing import Any

import httpx

from flask_core.logging import get_logger
from flask_core.replies import Attempt, Outcome, Reply, RetryBudget, clip, send_with_retries

from .interactions import MAX_CONTENT

_log = get_logger("modules.discord.rest")


def is_snowflake(value: str | None) -> bool:
    """Discord ids are decimal snowflakes; anything else is not a Discord message id."""
    return bool(value) and value is not None and value.isdigit() and len(value) <= 20


class DiscordChannels:
    """Post replies in Discord channels as the bot."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        bot_token: str,
        api_base: str,
        budget: RetryBudget | None = None,
    ) -> None:
        self._http = http
        self._bot_token = bot_token
        self._api_base = api_base.rstrip("/")
        self._budget = budget or RetryBudget()

    def body(self, reply: Reply) -> dict[str, Any]:
        """The message body: the text cut to Discord's limit, threaded when it answers one."""
        body: dict[str, Any] = {"content": clip(reply.text, MAX_CONTENT)}
        if is_snowflake(reply.in_reply_to):
            # A deleted original must not turn the reply into a 400.
            body["message_reference"] = {
                "message_id": reply.in_reply_to,
                "fail_if_not_exists": False,
            }
        return body

    async def send(self, reply: Reply) -> Outcome:
        async def attempt() -> Attempt:
            return await self._post(reply)

        return await send_with_retries(attempt, self._budget)

    async def _post(self, reply: Reply) -> Attempt:
        url = f"{self._api_base}/channels/{reply.channel_id}/messages"
        headers = {"Authorization": f"Bot {self._bot_token}"}
        try:
            response = await self._http.post(url, json=self.body(reply), headers=headers)
        except httpx.HTTPError as error:
            return Attempt.retry(0.0, f"Discord unreachable: {type(error).__name__}")
        status = response.status_code
        if status == 429:
            return Attempt.retry(_retry_after(response), "Discord rate limit (429)")
        if status >= 500:
            return Attempt.retry(0.0, f"Discord answered {status}")
        if status == 401:
            # A wrong bot token refuses every reply; keep them for after the fix.
            return Attempt.retry(1.0, "Discord refused the bot token (401)")
        if status >= 400:
            reason = f"Discord answered {status}: {_message_of(response)}"
            _log.warning(
                "reply to discord #%s refused for good: %s",
                reply.channel_id,
                reason,
                extra={"event_type": "SYSTEM", "community": reply.community_id},
            )
            return Attempt(Outcome.REFUSED, reason=reason)
        return Attempt(Outcome.SENT)


def _retry_after(response: httpx.Response) -> float:
    """``retry_after`` (seconds, a float) from the 429 body, else the header, else 1 s."""
    try:
        body = response.json()
        return max(0.0, float(body["retry_after"]))
    except (ValueError, KeyError, TypeError):
        pass
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return 1.0


def _message_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("message", "")) if isinstance(body, dict) else ""
