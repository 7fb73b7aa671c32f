"""ReplyDesk: the module side of durable replies (dedup, ack, retry later) on a real Redis."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import redis.asyncio as aioredis

from flask_core import errors
from flask_core.forwarding import SeenMessages
from flask_core.replies import (
    LoggedReplies,
    Outcome,
    Reply,
    ReplyDesk,
    ReplyLedger,
    TransientFailure,
    reply_from_envelope,
)


def envelope(event_id: str = "e-1", **payload: Any) -> dict[str, Any]:
    body = {
        "response_id": "r-1",
        "channel_id": "44429626",
        "text": "#1: hello",
        "payload": {},
        "in_reply_to": "parent-1",
        **payload,
    }
    return {
        "event_id": event_id,
        "community_id": "stream1",
        "platform": "twitch",
        "type": "response.twitch",
        "channel_id": "44429626",
        "payload": body,
        "source": "router",
    }


class Recorder:
    """A sender whose next outcomes a test sets; records every reply it was given."""

    def __init__(self, *outcomes: Outcome | TransientFailure) -> None:
        self.outcomes = list(outcomes)
        self.replies: list[Reply] = []

    async def send(self, reply: Reply) -> Outcome:
        self.replies.append(reply)
        outcome = self.outcomes.pop(0) if self.outcomes else Outcome.SENT
        if isinstance(outcome, TransientFailure):
            raise outcome
        return outcome


def desk(redis: aioredis.Redis, sender: Recorder, **kwargs: Any) -> ReplyDesk:
    return ReplyDesk("twitch", sender, ReplyLedger(redis, "test:replied"), **kwargs)


def test_an_envelope_becomes_a_reply() -> None:
    reply = reply_from_envelope(envelope())
    assert reply == Reply(
        event_id="e-1",
        community_id="stream1",
        platform="twitch",
        channel_id="44429626",
        text="#1: hello",
        response_id="r-1",
        in_reply_to="parent-1",
        payload={},
    )
    assert reply_from_envelope(envelope(text="")) is None
    assert reply_from_envelope({**envelope(), "type": "chat.message"}) is None


async def test_a_redelivered_reply_is_sent_once(redis: aioredis.Redis) -> None:
    sender = Recorder()
    replies = desk(redis, sender)
    await replies.handle(envelope())
    await replies.handle(envelope())
    # Another process of the module shares the memory through Redis.
    await desk(redis, sender).handle(envelope())
    assert len(sender.replies) == 1


async def test_a_transient_failure_asks_for_a_retry_that_then_goes_through(
    redis: aioredis.Redis,
) -> None:
    sender = Recorder(TransientFailure("Helix answered 503", retry_after=2.4))
    replies = desk(redis, sender)
    with pytest.raises(errors.ModuleUnavailable) as refused:
        await replies.handle(envelope())
    assert refused.value.status_code == 503 and refused.value.retry_after == 2
    await replies.handle(envelope())
    assert len(sender.replies) == 2 and replies.sent == 1


async def test_a_refused_reply_is_acknowledged_and_not_sent_again(redis: aioredis.Redis) -> None:
    sender = Recorder(Outcome.REFUSED)
    replies = desk(redis, sender)
    await replies.handle(envelope())
    await replies.handle(envelope())
    assert len(sender.replies) == 1 and replies.refused == 1


async def test_a_reply_answered_inline_is_not_posted_again(redis: aioredis.Redis) -> None:
    answered = SeenMessages(redis, "test:answered")
    await answered.first_time("trigger-1")
    sender = Recorder()
    replies = desk(redis, sender, answered=answered)
    await replies.handle(envelope("e-1", payload={"event_id": "trigger-1"}))
    await replies.handle(envelope("e-2", payload={"event_id": "trigger-2"}))
    assert [reply.event_id for reply in sender.replies] == ["e-2"]


async def test_another_platform_s_reply_is_acknowledged_untouched(redis: aioredis.Redis) -> None:
    sender = Recorder()
    await desk(redis, sender).handle({**envelope(), "type": "response.discord"})
    assert sender.replies == []


async def test_without_credentials_each_reply_is_one_readable_line(
    redis: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    replies = ReplyDesk("twitch", LoggedReplies("twitch"), ReplyLedger(redis, "test:replied"))
    with caplog.at_level(logging.INFO, logger="flask_core.replies"):
        await replies.handle(envelope())
    lines = [record.getMessage() for record in caplog.records]
    assert lines == ["reply to twitch #44429626: #1: hello"]


class Stalling(Recorder):
    """A sender that takes ``seconds`` to post (a slow platform, or a push still in flight)."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    async def send(self, reply: Reply) -> Outcome:
        self.replies.append(reply)
        await asyncio.sleep(self.seconds)
        return Outcome.SENT


async def test_a_push_overlapping_one_in_flight_is_told_to_retry(redis: aioredis.Redis) -> None:
    sender = Stalling(0.5)
    first = asyncio.create_task(desk(redis, sender).handle(envelope()))
    await asyncio.sleep(0.1)
    with pytest.raises(errors.ModuleUnavailable):
        await desk(redis, sender).handle(envelope())  # another process, the same reply
    await first
    await desk(redis, sender).handle(envelope())  # the router's retry: acknowledged
    assert len(sender.replies) == 1


async def test_the_claim_of_a_process_that_died_mid_post_runs_out(redis: aioredis.Redis) -> None:
    dead = ReplyLedger(redis, "test:replied", claim_seconds=1)
    assert (await dead.claim("e-1")).value == "claimed"  # then the process is gone
    sender = Recorder()
    with pytest.raises(errors.ModuleUnavailable):
        await desk(redis, sender).handle(envelope())
    await asyncio.sleep(1.2)  # the claim's expiry is the behaviour under test
    await desk(redis, sender).handle(envelope())
    assert len(sender.replies) == 1


async def test_a_post_that_hangs_is_cut_and_retried_later(redis: aioredis.Redis) -> None:
    replies = desk(redis, Stalling(5.0), send_seconds=0.2)
    with pytest.raises(errors.ModuleUnavailable):
        await replies.handle(envelope())
    replies.sender = Recorder()
    await replies.handle(envelope())
    assert replies.sent == 1
