"""Router tokens are bound to the call (SPEC §5): the router side of the replay finding.

The finding: a captured ``quote.add`` token was replayed with other params, and tokens lived
30 s whatever the action's timeout. Each call now carries a token bound to the exact bytes
sent, with a fresh ``jti``, the community, and a lifetime of the action's timeout + 5 s.
"""

from __future__ import annotations

from typing import Any

from quart import Quart

from flask_core.tokens import body_digest, verify_router_token
from tests.support.servers import serve_app
from tests.support.standin import Behaviour, registration, standin_app

from .conftest import Caller, Module


async def _claims(app: Quart, call: dict[str, Any], audience: str) -> dict[str, Any]:
    jwks = await (await app.test_client().get("/.well-known/jwks.json")).get_json()
    token = call["headers"]["Authorization"].removeprefix("Bearer ")
    return verify_router_token(token, jwks, audience=audience)


async def test_each_call_token_is_bound_to_its_bytes_community_and_timeout(
    caller: Caller, module: Module
) -> None:
    for number in (1, 2, 3):
        assert (await caller.call(params={"n": number})).status_code == 200
    claims = [await _claims(caller.app, call, "mod") for call in module.behaviour.calls]
    for call, claim in zip(module.behaviour.calls, claims, strict=True):
        assert claim["body_sha256"] == body_digest(call["raw"])
        assert claim["community_id"] == call["headers"]["X-Community-Id"] == "c1"
        assert claim["action_id"] == "mod.echo" and claim["sub"] == "twitch:42"
        assert claim["exp"] - claim["iat"] == 1 + 5  # timeout 300 ms, rounded up, + 5 s
    assert len({claim["jti"] for claim in claims}) == 3
    assert len({claim["body_sha256"] for claim in claims}) == 3  # other params, other digest


async def test_a_long_action_timeout_still_gives_at_most_60_seconds(caller: Caller) -> None:
    behaviour = Behaviour()
    async with serve_app(standin_app("slow", behaviour)) as url:
        body = registration("slow", url, timeout_ms=58_000)
        assert await caller.register(body) == 201
        assert (await caller.call("slow.echo")).status_code == 200
    claim = await _claims(caller.app, behaviour.calls[0], "slow")
    assert claim["exp"] - claim["iat"] == 60
