"""Replies as envelopes: what a command's result and a posted response become."""

from __future__ import annotations

from typing import Any

from router.events.models import Envelope
from router.events.replies import command_reply, reply_envelope


def chat(payload: dict[str, Any], channel_id: str | None = "44429626") -> Envelope:
    return Envelope(
        event_id="7d6f0c1e-8f7a-4b53-9a55-6c1f2a7d4e90",
        community_id="stream1",
        platform="twitch",
        type="chat.message",
        user_id="twitch:1001",
        channel_id=channel_id,
        occurred_at="2026-11-30T10:00:00.000Z",
        received_at="2026-11-30T10:00:00.000Z",
        payload=payload,
        source="twitch",
    )


def outcome(result: Any, status: str = "ok") -> dict[str, Any]:
    return {
        "name": "!quote",
        "action_id": "quote.random",
        "module_id": "quotes",
        "status": status,
        "result": result,
    }


def test_a_command_result_with_text_replies_under_the_platform_message() -> None:
    answered = outcome({"quote": {"number": 1}, "text": "#1: hello"})
    reply = command_reply(chat({"text": "!quote", "message_id": "m-1"}), answered)
    assert reply is not None
    assert (reply.type, reply.community_id, reply.platform, reply.channel_id) == (
        "response.twitch",
        "stream1",
        "twitch",
        "44429626",
    )
    assert reply.payload == {
        "response_id": reply.event_id,
        "channel_id": "44429626",
        "text": "#1: hello",
        "payload": {"event_id": "7d6f0c1e-8f7a-4b53-9a55-6c1f2a7d4e90", "command": answered},
        "in_reply_to": "m-1",
    }
    assert reply.source == "router"


def test_the_same_event_always_names_the_same_reply() -> None:
    event = chat({"text": "!quote"})
    first = command_reply(event, outcome({"text": "a"}))
    again = command_reply(event, outcome({"text": "a"}))
    assert first is not None and again is not None
    assert first.event_id == again.event_id != event.event_id
    assert first.payload["in_reply_to"] is None


def test_no_reply_without_text_a_channel_or_success() -> None:
    assert command_reply(chat({"text": "!quote"}), outcome({"items": []})) is None
    assert command_reply(chat({"text": "!quote"}), outcome(None, status="timeout")) is None
    assert command_reply(chat({"text": "!quote"}, channel_id=None), outcome({"text": "a"})) is None


def test_a_posted_response_keeps_what_the_module_sent() -> None:
    reply = reply_envelope(
        response_id="r-1",
        community_id="stream1",
        platform="discord",
        channel_id="555",
        text=None,
        payload={"embed": {"title": "hi"}},
        in_reply_to="123",
        source="quotes",
    )
    assert reply.event_id == "r-1" and reply.type == "response.discord"
    assert reply.payload == {
        "response_id": "r-1",
        "channel_id": "555",
        "text": None,
        "payload": {"embed": {"title": "hi"}},
        "in_reply_to": "123",
    }
