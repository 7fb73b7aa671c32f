"""Replies to a platform: ``response.{platform}`` envelopes pushed by the router, sent once.

The router delivers every reply durably (SPEC §7) to the platform module subscribed to
``response.{platform}``. ``ReplyDesk`` is that module's side: it turns the envelope into a
``Reply``, skips one it already handled (at-least-once delivery, dedup on ``event_id``), and
hands it to a ``ReplySender``. The push is acknowledged (2xx) once the reply was sent or the
platform refused it for good; a transient failure answers 503 so the router retries later.

Senders talk to a platform's REST API through ``send_with_retries``: a short, bounded retry
loop for 429 and 5xx that stays inside the router's push timeout, after which the router's own
retries (with back-off, then the dead letters) take over.
"""

from __future__ import annotations

import asyncio
import enum
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import errors
from .forwarding import SeenMessages
from .logging import get_logger

_log = get_logger("flask_core.replies")

RESPONSE_TYPE_PREFIX = "response."


@dataclass(frozen=True, slots=True)
class Reply:
    """One reply to post in a platform channel."""

    event_id: str
    community_id: str
    platform: str
    channel_id: str
    text: str
    response_id: str | None = None
    in_reply_to: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


def response_type(platform: str) -> str:
    """The envelope type that carries replies for ``platform`` (``response.twitch``)."""
    return f"{RESPONSE_TYPE_PREFIX}{platform}"


def reply_from_envelope(envelope: dict[str, Any]) -> Reply | None:
    """The reply an envelope carries, or None when it has no channel or no text to post."""
    body = envelope.get("payload")
    kind = str(envelope.get("type", ""))
    if not isinstance(body, dict) or not kind.startswith(RESPONSE_TYPE_PREFIX):
        return None
    channel = body.get("channel_id") or envelope.get("channel_id")
    text = body.get("text")
    if not isinstance(channel, str) or not channel or not isinstance(text, str) or not text:
        return None
    in_reply_to = body.get("in_reply_to")
    extra = body.get("payload")
    return Reply(
        event_id=str(envelope.get("event_id", "")),
        community_id=str(envelope.get("community_id", "")),
        platform=kind.removeprefix(RESPONSE_TYPE_PREFIX),
        channel_id=channel,
        text=text,
        response_id=body.get("response_id") if isinstance(body.get("response_id"), str) else None,
        in_reply_to=in_reply_to if isinstance(in_reply_to, str) and in_reply_to else None,
        payload=extra if isinstance(extra, dict) else {},
    )


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Outcome(enum.Enum):
    SENT = "sent"
    REFUSED = "refused"  # the platform will never take it (400/403/404, dropped): acked


class TransientFailure(Exception):
    """The platform could not take the reply now; the router should push it again later."""

    def __init__(self, reason: str, retry_after: float = 1.0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class ReplySender(Protocol):
    async def send(self, reply: Reply) -> Outcome:
        """Post ``reply``; raise ``TransientFailure`` when it should be tried again later."""
        ...


class LoggedReplies:
    """The sender without platform credentials: one readable line per reply, nothing sent."""

    def __init__(self, platform: str) -> None:
        self.platform = platform

    async def send(self, reply: Reply) -> Outcome:
        _log.info(
            "reply to %s #%s: %s",
            self.platform,
            reply.channel_id,
            reply.text,
            extra={"event_type": "SYSTEM", "community": reply.community_id},
        )
        return Outcome.SENT


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one HTTP call to the platform came to."""

    outcome: Outcome | None  # None: try again after ``wait`` seconds
    wait: float = 0.0
    reason: str = ""

    @classmethod
    def retry(cls, wait: float, reason: str) -> Attempt:
        return cls(None, max(0.0, wait), reason)


@dataclass(frozen=True, slots=True)
class RetryBudget:
    """How long one push may spend retrying; it must end well inside the router's timeout."""

    attempts: int = 3
    seconds: float = 3.0
    backoff: float = 0.25


async def send_with_retries(call: Callable[[], Awaitable[Attempt]], budget: RetryBudget) -> Outcome:
    """Run ``call`` until it settles; raise ``TransientFailure`` once the budget is spent."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget.seconds
    delay = budget.backoff
    attempt = Attempt.retry(0.0, "not tried")
    for number in range(1, budget.attempts + 1):
        attempt = await call()
        if attempt.outcome is not None:
            return attempt.outcome
        # A platform's own wait (429) is exact; our back-off for 5xx is jittered.
        wait = attempt.wait or delay * (0.5 + random.random() / 2)
        delay *= 2
        if number == budget.attempts or loop.time() + wait > deadline:
            raise TransientFailure(attempt.reason, retry_after=max(wait, 1.0))
        await asyncio.sleep(wait)
    raise TransientFailure(attempt.reason)


class ReplyDesk:
    """Handle the router's pushes of ``response.{platform}``: dedupe, send, ack or retry."""

    def __init__(
        self,
        platform: str,
        sender: ReplySender,
        seen: SeenMessages,
        *,
        answered: SeenMessages | None = None,
    ) -> None:
        self.platform = platform
        self.sender = sender
        self.seen = seen
        # Event ids the module already answered itself (a Discord interaction's inline reply):
        # their durable reply would post the same answer twice.
        self.answered = answered
        self.sent = 0
        self.refused = 0

    async def handle(self, envelope: dict[str, Any]) -> None:
        """The ``mount_event_receiver`` handler: returning acks, raising asks for a retry."""
        if envelope.get("type") != response_type(self.platform):
            return  # not ours to post; acknowledged so it does not come back
        reply = reply_from_envelope(envelope)
        if reply is None:
            _log.info("response %s has no text to post", envelope.get("event_id"))
            return
        if await self._answered_inline(reply):
            return
        if not await self.seen.first_time(reply.event_id):
            return  # a redelivery of a reply already handled
        try:
            outcome = await self.sender.send(reply)
        except TransientFailure as failure:
            await self.seen.forget(reply.event_id)
            _log.warning("reply to %s #%s postponed: %s", self.platform, reply.channel_id, failure)
            raise errors.ModuleUnavailable(
                f"The platform did not take the reply: {failure.reason}",
                retry_after=max(1, round(failure.retry_after)),
            ) from None
        except BaseException:
            await self.seen.forget(reply.event_id)
            raise
        self._count(reply, outcome)

    async def _answered_inline(self, reply: Reply) -> bool:
        trigger = reply.payload.get("event_id")
        return (
            self.answered is not None
            and isinstance(trigger, str)
            and await self.answered.known(trigger)
        )

    def _count(self, reply: Reply, outcome: Outcome) -> None:
        if outcome is Outcome.SENT:
            self.sent += 1
        else:
            self.refused += 1
