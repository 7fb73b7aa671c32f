"""What a module receives from the router: verified action calls and proxied endpoint calls.

Every request the router sends carries its token (``Authorization: Bearer``), checked by the
module's :class:`~flask_core.tokens.RouterTokenVerifier` before a handler runs: audience this
module, ``action_id`` claim naming this very call (an action id, or ``service:/path`` for a
request proxied through ``/api/v1/services/{module}/{path}``), community the one in
``X-Community-ID``, ``body_sha256`` the body received, ``jti`` never used before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from quart import Request, Response, make_response, request

from . import errors, jsonio
from .api import JSON, create_response, raw_body
from .auth import COMMUNITY_HEADER
from .logging import get_logger
from .tokens import PresentedCall, RouterTokenVerifier

_log = get_logger("flask_core.calls")
SERVICE_CLAIM_PREFIX = "service:"  # the action_id claim of a proxied request: service:/path


@dataclass(frozen=True, slots=True)
class ActionCall:
    """One verified call of an action, as a handler receives it."""

    action_id: str
    community_id: str
    user_id: str
    context: dict[str, Any]
    params: dict[str, Any]
    claims: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EndpointCall:
    """One verified request the router proxied to an endpoint of this module.

    ``subject`` is the user the caller named (``X-User-ID``), else ``key:<key id>``;
    ``body`` the exact bytes received; ``request`` the Quart request (method, query, headers).
    """

    path: str
    community_id: str
    subject: str
    body: bytes
    claims: dict[str, Any]
    request: Request


ActionHandler = Callable[[ActionCall], Awaitable[Any]]
EndpointHandler = Callable[[EndpointCall], Awaitable[Any]]


async def _verified(verifier: RouterTokenVerifier, claim: str) -> tuple[bytes, dict[str, Any]]:
    body = await raw_body()
    presented = PresentedCall(
        authorization=request.headers.get("Authorization", ""),
        community_header=request.headers.get(COMMUNITY_HEADER),
        body=body,
    )
    return body, await verifier.verify(presented, action_id=claim)


def _object(body: dict[str, Any], member: str) -> dict[str, Any]:
    """``body[member]`` when it is an object (absent = empty); 400 naming it otherwise."""
    value = body.get(member, {})
    if not isinstance(value, dict):
        raise errors.ValidationError({member: ["must be an object"]})
    return value


async def action_call(verifier: RouterTokenVerifier, action_id: str) -> ActionCall:
    """The call, once the token is bound to this action, community, body and first use."""
    body_bytes, claims = await _verified(verifier, action_id)
    body = jsonio.loads(body_bytes) if body_bytes.strip() else {}
    if not isinstance(body, dict):
        raise errors.ValidationError({"body": ["must be a JSON object"]})
    return ActionCall(
        action_id=action_id,
        community_id=claims["community_id"],
        user_id=str(claims["sub"]),
        context=_object(body, "context"),
        params=_object(body, "params"),
        claims=claims,
    )


async def endpoint_call(verifier: RouterTokenVerifier, path: str) -> EndpointCall:
    """The current request as an :class:`EndpointCall` for ``path``, once its token checks out."""
    body, claims = await _verified(verifier, f"{SERVICE_CLAIM_PREFIX}{path}")
    return EndpointCall(
        path=path,
        community_id=claims["community_id"],
        subject=str(claims["sub"]),
        body=body,
        claims=claims,
        request=request._get_current_object(),  # type: ignore[attr-defined]
    )


def action_answer(action_id: str, result: Any) -> Response:
    """An action's result as its 200 JSON answer."""
    try:
        # str() for the odd datetime or UUID, as create_response always did.
        return Response(jsonio.dumpb(result, default=str), status=200, content_type=JSON)
    except jsonio.UnserializableJSON:
        _log.error("action %s answered a value with no JSON form", action_id)
        raise errors.InternalError() from None


async def endpoint_answer(result: Any) -> Response:
    """An endpoint's answer: a response as it is, a Quart-style tuple, or data as JSON."""
    if isinstance(result, Response):
        return result
    if isinstance(result, tuple):  # (body, status) or (body, status, headers), as in Quart
        response = await make_response(result)
        assert isinstance(response, Response)
        return response
    return create_response(result)
