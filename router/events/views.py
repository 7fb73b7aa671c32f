"""Event ingest and response routes (SPEC §7)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Any

from quart import Blueprint, Response

from flask_core import errors
from flask_core.api import create_response
from flask_core.auth import api_key, current_community, current_principal
from flask_core.logging import correlation_id, get_logger
from flask_core.ratelimit import JoinedStep
from flask_core.routes import LimitMode, route, validated_body
from flask_core.slots import ServiceSlot
from flask_core.timestamps import now_rfc3339

from .. import answers
from ..ratelimits.limits import LIMITS
from .ingest import Accepted
from .models import BATCH_SCHEMA, EVENT_SCHEMA, RESPONSE_SCHEMA, Envelope, is_reply_type
from .replies import reply_envelope
from .service import EventService
from .store import UNREACHABLE

blueprint = Blueprint("events", __name__, url_prefix="/api/v1")
_log = get_logger("router.events.views")
EVENTS = ServiceSlot[EventService]("router.events")
TRIGGER = api_key("trigger", "core", scoped=True)


def _source() -> str:
    principal = current_principal()
    return principal.module_id or principal.name


async def _check_user_limits(community: str, events: list[dict[str, Any]]) -> None:
    users = {event["user_id"] for event in events if event.get("user_id")}
    for user_id in sorted(users):
        await LIMITS.get().check_user(community, user_id)


def _refuse_reply_types(events: list[dict[str, Any]], field: str) -> None:
    """``response.*`` is what the router makes of replies; a trigger may not forge one."""
    for index, event in enumerate(events):
        if is_reply_type(event["type"]):
            name = field.format(index=index)
            raise errors.ValidationError(
                {name: ["response.* types are the router's replies; use POST /api/v1/responses"]}
            )


async def _accept(events: list[dict[str, Any]], field: str) -> list[Accepted]:
    _refuse_reply_types(events, field)
    community = current_community()
    await _check_user_limits(community, events)
    return await EVENTS.get().ingest.ingest(events, community, _source(), correlation_id())


@blueprint.post("/events")
@route(guard=TRIGGER, body=EVENT_SCHEMA, limits=LimitMode.VIEW, answers=answers.EVENT_ANSWERS)
async def post_event() -> Response:
    """Accept one event: 202 when new, 200 when its event_id was seen in the last 24 h."""
    event = await validated_body()
    _refuse_reply_types([event], "type")
    principal, community = current_principal(), current_community()

    def admit(joined: JoinedStep | None) -> Awaitable[Any]:
        # Key, community and user quotas in one decision, the accept in its last step.
        return LIMITS.get().admit(principal, community, event.get("user_id"), joined)

    accepted = await EVENTS.get().ingest.ingest_admitted(
        event, community, _source(), admit, correlation_id()
    )
    return create_response(accepted.body(), status=200 if accepted.duplicate else 202)


@blueprint.post("/events/batch")
@route(guard=TRIGGER, body=BATCH_SCHEMA, answers=answers.ok(answers.BATCH_ACCEPTED, 202))
async def post_event_batch() -> Response:
    """Accept 1 to 100 events in order; each result is what POST /events would answer."""
    batch = await validated_body()
    accepted = await _accept(batch["events"], "events.{index}.type")
    return create_response({"results": [item.body() for item in accepted]}, status=202)


@blueprint.post("/responses")
@route(
    guard=api_key("action", "core", scoped=True),
    body=RESPONSE_SCHEMA,
    answers=answers.ok(answers.RESPONSE_ACCEPTED, 202),
)
async def post_response() -> Response:
    """Send a message to a platform: durably to its module, and on the pub/sub channel."""
    body = await validated_body()
    if body.get("text") is None and body.get("payload") is None:
        raise errors.ValidationError({"text": ["text or payload is required"]})
    community = current_community()
    message = {
        "response_id": str(uuid.uuid4()),
        "community_id": community,
        "platform": body["platform"],
        "channel_id": body["channel_id"],
        "text": body.get("text"),
        "payload": body.get("payload"),
        "in_reply_to": body.get("in_reply_to"),
        "source": _source(),
        "sent_at": now_rfc3339(),
    }
    # Durable first: while Redis is down the reply is spooled and reaches its module later, so
    # the caller must not retry (that would post it twice); only the live publish is lost.
    await EVENTS.get().ingest.reply(_reply_of(message))
    try:
        await EVENTS.get().store.publish_response(community, body["platform"], message)
    except UNREACHABLE as exc:
        _log.warning("response not published live: Redis unreachable (%s)", exc)
    return create_response({"response_id": message["response_id"]}, status=202)


def _reply_of(message: dict[str, Any]) -> Envelope:
    return reply_envelope(
        response_id=message["response_id"],
        community_id=message["community_id"],
        platform=message["platform"],
        channel_id=message["channel_id"],
        text=message["text"],
        payload=message["payload"],
        in_reply_to=message["in_reply_to"],
        source=message["source"],
    )
