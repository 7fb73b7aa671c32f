"""Replies to a platform: ``response.{platform}`` envelopes pushed by the router, sent once.

The router delivers every reply durably (SPEC §7) to the platform module subscribed to
``response.{platform}``. ``ReplyDesk`` is that module's side: it turns the envelope into a
``Reply``, skips one it already handled (at-least-once delivery, dedup on ``event_id``), and
hands it to a ``ReplySender``. The push is acknowledged (2xx) once the reply was sent or the
platform refused it for good; a transient failure answers 503 so the router retries later
(``ReplyLedger`` keeps overlapping pushes from posting one reply twice).

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

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from . import errors
from .forwarding import SeenMessages
from .logging import get_logger
from .recent import RecentIds

_log = get_logger("flask_core.replies")

RESPONSE_TYPE_PREFIX = "response."
# A post ends within SEND_SECONDS (inside the router's 5 s push timeout); a claim outlives it.
SEND_SECONDS = 4.0
CLAIM_SECONDS = 5


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


class Claim(enum.Enum):
    CLAIMED = "claimed"  # this push posts the reply
    SENT = "sent"  # posted (or refused for good) already: acknowledge
    BUSY = "busy"  # another push is posting it right now: ask for a retry


class ReplyLedger:
    """Which replies were handled: ``sending`` while one push posts it, then ``sent``.

    Marking only after the post could post a reply twice when the router pushes it again while
    the first push is still posting (after its timeout); marking before could lose it when the
    process dies mid-post. So a push claims the reply for a few seconds (longer than a post may
    take), and a push that finds the claim answers 503: the router retries, and by then the reply
    is ``sent``, or the claim of a dead process has run out and the retry posts it.
    """

    def __init__(
        self,
        redis: aioredis.Redis | None,
        prefix: str,
        *,
        claim_seconds: int = CLAIM_SECONDS,
        keep_seconds: int = 86_400,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._claim_seconds = claim_seconds
        self._keep_seconds = keep_seconds
        self._sent = RecentIds(ttl_seconds=keep_seconds)
        self._sending: set[str] = set()

    async def claim(self, event_id: str) -> Claim:
        if self._sent.seen(event_id):
            return Claim.SENT
        if event_id in self._sending:
            return Claim.BUSY
        claim = await self._claim_in_redis(event_id)
        if claim is Claim.CLAIMED:
            self._sending.add(event_id)
        return claim

    async def _claim_in_redis(self, event_id: str) -> Claim:
        if self._redis is None:
            return Claim.CLAIMED
        key = f"{self._prefix}:{event_id}"
        try:
            if await self._redis.set(key, "sending", nx=True, ex=self._claim_seconds):
                return Claim.CLAIMED
            state = await self._redis.get(key)
        except (RedisError, OSError):
            return Claim.CLAIMED  # this process's memory is the fallback
        return Claim.SENT if state in (b"sent", "sent") else Claim.BUSY

    async def settle(self, event_id: str) -> None:
        """The reply was posted or refused for good: never post it again."""
        self._sending.discard(event_id)
        self._sent.remember(event_id)
        if self._redis is not None:
            try:
                await self._redis.set(f"{self._prefix}:{event_id}", "sent", ex=self._keep_seconds)
            except (RedisError, OSError):
                _log.warning("could not record reply %s as sent in Redis", event_id)

    async def release(self, event_id: str) -> None:
        """The post failed: let the router's next push try again."""
        self._sending.discard(event_id)
        if self._redis is not None:
            try:
                await self._redis.delete(f"{self._prefix}:{event_id}")
            except (RedisError, OSError):
                _log.warning("could not release reply %s in Redis", event_id)


class ReplyDesk:
    """Handle the router's pushes of ``response.{platform}``: dedupe, send, ack or retry."""

    def __init__(
        self,
        platform: str,
        sender: ReplySender,
        ledger: ReplyLedger,
        *,
        answered: SeenMessages | None = None,
        send_seconds: float = SEND_SECONDS,
    ) -> None:
        self.platform = platform
        self.sender = sender
        self.ledger = ledger
        self.send_seconds = send_seconds
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
        claim = await self.ledger.claim(reply.event_id)
        if claim is Claim.SENT:
            return  # a redelivery of a reply already handled
        if claim is Claim.BUSY:
            raise errors.ModuleUnavailable("This reply is being posted now.", retry_after=1)
        try:
            outcome = await self._send(reply)
        except BaseException:
            await self.ledger.release(reply.event_id)
            raise
        await self.ledger.settle(reply.event_id)
        self._count(reply, outcome)

    async def _send(self, reply: Reply) -> Outcome:
        try:
            # Bounded, so the claim outlives the post and the router's push does not time out.
            async with asyncio.timeout(self.send_seconds):
                return await self.sender.send(reply)
        except (TransientFailure, TimeoutError) as failure:
            reason = str(failure) or f"no answer within {self.send_seconds} s"
            wait = failure.retry_after if isinstance(failure, TransientFailure) else 1.0
            _log.warning("reply to %s #%s postponed: %s", self.platform, reply.channel_id, reason)
            raise errors.ModuleUnavailable(
                f"The platform did not take the reply: {reason}",
                retry_after=max(1, round(wait)),
            ) from None

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
