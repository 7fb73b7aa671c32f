"""``POST /api/v1/action/{action_id}`` and the JWKS that verifies router tokens."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response

from flask_core.api import create_response, read_json
from flask_core.auth import current_community, current_principal, public, require_api_key
from flask_core.logging import correlation_id
from flask_core.validation import USER_ID, validate_input

from ..ratelimits.limits import limited_in_view
from ..state import router_state
from . import dispatch_action

blueprint = Blueprint("routing", __name__)

ACTION_SCHEMA: dict[str, Any] = {
    "user_id": {"type": "string", "required": True, "regex": USER_ID},
    "context": {"type": "dict", "default": {}},
    "params": {"type": "dict", "default": {}},
}


@blueprint.post("/api/v1/action/<action_id>")
@require_api_key("user", "trigger", "action", "core", "admin", scoped=True)
@limited_in_view
async def call_action(action_id: str) -> Response:
    """Run an action on a healthy instance of the module that declared it."""
    limits, principal, community = router_state().limits, current_principal(), current_community()
    try:
        body = validate_input(await read_json(), ACTION_SCHEMA)
    except Exception:
        await limits.check_caller(principal, community)  # a refused call still counts
        raise
    await limits.check_caller(principal, community, body["user_id"])
    result = await dispatch_action(
        action_id,
        community,
        body["user_id"],
        body["context"],
        body["params"],
        correlation_id() or "",
    )
    return create_response(result)


call_action.__body_schema__ = ACTION_SCHEMA  # type: ignore[attr-defined]


@blueprint.get("/.well-known/jwks.json")
@public
async def jwks() -> Response:
    """The public key set that verifies router→module tokens."""
    return create_response(
        router_state().routing.signing_key.jwks(),
        headers={"Cache-Control": "public, max-age=300"},
    )
