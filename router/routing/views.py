"""``POST /api/v1/action/{action_id}`` and the JWKS that verifies router tokens."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response

from flask_core.api import create_response
from flask_core.auth import api_key, current_community, current_principal, public
from flask_core.logging import correlation_id
from flask_core.routes import LimitMode, route, validated_body
from flask_core.slots import ServiceSlot
from flask_core.tokens import SigningKey
from flask_core.validation import USER_ID

from ..ratelimits.limits import LIMITS
from .dispatch import Dispatcher

blueprint = Blueprint("routing", __name__)
DISPATCHER = ServiceSlot[Dispatcher]("router.dispatcher")
SIGNING_KEY = ServiceSlot[SigningKey]("router.signing_key")

ACTION_SCHEMA: dict[str, Any] = {
    "user_id": {"type": "string", "required": True, "regex": USER_ID},
    "context": {"type": "dict", "default": {}},
    "params": {"type": "dict", "default": {}},
}


@blueprint.post("/api/v1/action/<action_id>")
@route(
    guard=api_key("user", "trigger", "action", "core", "admin", scoped=True),
    body=ACTION_SCHEMA,
    limits=LimitMode.VIEW,
)
async def call_action(action_id: str) -> Response:
    """Run an action on a healthy instance of the module that declared it."""
    limits, principal, community = LIMITS.get(), current_principal(), current_community()
    try:
        body = await validated_body()
    except Exception:
        await limits.check_caller(principal, community)  # a refused call still counts
        raise
    await limits.check_caller(principal, community, body["user_id"])
    result = await DISPATCHER.get().dispatch(
        action_id,
        community,
        body["user_id"],
        body["context"],
        body["params"],
        correlation_id() or "",
    )
    return create_response(result)


@blueprint.get("/.well-known/jwks.json")
@public
async def jwks() -> Response:
    """The public key set that verifies router→module tokens."""
    return create_response(
        SIGNING_KEY.get().jwks(),
        headers={"Cache-Control": "public, max-age=300"},
    )
