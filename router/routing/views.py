"""``POST /api/v1/action/{action_id}``, the proxy by name and the JWKS that verifies tokens."""

from __future__ import annotations

import re
from typing import Any

from quart import Blueprint, Response, request

from flask_core import errors
from flask_core.api import create_response
from flask_core.auth import api_key, current_community, current_principal, public
from flask_core.logging import correlation_id
from flask_core.routes import LimitMode, route, validated_body
from flask_core.slots import ServiceSlot
from flask_core.tokens import SigningKey
from flask_core.validation import USER_ID

from .. import answers
from ..ratelimits.limits import LIMITS
from .dispatch import SERVICE_CLAIM_PREFIX, Dispatcher, Outbound, read_proxied_answer

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
    answers=answers.ok(answers.ACTION_RESULT),
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


USER_HEADER = "X-User-ID"  # names the user a proxied request acts for (limits, token ``sub``)
_USER_ID = re.compile(USER_ID)
PROXY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@blueprint.route("/api/v1/services/<module_id>/<path:path>", methods=PROXY_METHODS)
@route(
    guard=api_key("user", "trigger", "action", "core", "admin", scoped=True),
    limits=LimitMode.VIEW,
    answers=answers.PROXIED,
)
async def proxy(module_id: str, path: str) -> Response:
    """Forward a request to a registered endpoint of a healthy instance of a module.

    The module's status, Content-Type and body come back unchanged; 5xx and timeouts map as
    for an action call. ``X-User-ID`` (optional) names the user the request acts for.
    """
    limits, principal, community = LIMITS.get(), current_principal(), current_community()
    user = request.headers.get(USER_HEADER)
    if user is not None and not _USER_ID.fullmatch(user):
        await limits.check_caller(principal, community)  # a refused call still counts
        raise errors.ValidationError({USER_HEADER: [f"must match {USER_ID}"]})
    await limits.check_caller(principal, community, user)
    target = f"/{path}"
    module = DISPATCHER.get().registry.module_for(module_id, community)
    if module is None or target not in module.endpoints:
        raise errors.NotFound(f"Module {module_id!r} registered no endpoint {target!r}.")
    dispatcher = DISPATCHER.get()
    outbound = Outbound(
        module_id=module_id,
        method=request.method,
        path=target,
        claim=f"{SERVICE_CLAIM_PREFIX}{target}",
        timeout_ms=dispatcher.proxy_timeout_ms,
        content=await request.get_data(True, False, False),
        community_id=community,
        subject=user or f"key:{principal.key_id}",
        correlation_id=correlation_id() or "",
        content_type=request.headers.get("Content-Type"),
        query=request.query_string,
    )
    answer = await dispatcher.send(outbound, read_proxied_answer)
    passed = Response(answer.content, status=answer.status)
    if content_type := answer.headers.get("Content-Type"):
        passed.headers["Content-Type"] = content_type
    else:
        del passed.headers["Content-Type"]
    return passed


@blueprint.get("/.well-known/jwks.json")
@public
@route(answers=answers.ok(answers.JWKS))
async def jwks() -> Response:
    """The public key set that verifies router→module tokens."""
    return create_response(
        SIGNING_KEY.get().jwks(),
        headers={"Cache-Control": "public, max-age=300"},
    )
