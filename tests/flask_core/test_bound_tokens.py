"""Router tokens are bound to one body and one community, and accepted once (SPEC §5).

A module's action route on loopback, verified against a JWKS served on loopback, with the jti
memory on the test's real Redis: the replay, other-body and other-community attacks of a
captured ``quote.add`` token, and properties of the verifier over random bodies.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quart import Quart

from flask_core.module import ActionCall, Lifecycle, ModuleBase, ModuleSettings
from flask_core.tokens import (
    InvalidRouterToken,
    JwksCache,
    PresentedCall,
    RouterTokenVerifier,
    SigningKey,
    UsedTokenIds,
    body_digest,
)
from tests.support.servers import free_port, serve_app


@dataclass
class Setup:
    key: SigningKey
    urls: list[str]
    modules: list[ModuleBase]
    added: list[dict[str, Any]]
    http: httpx.AsyncClient

    def token(self, body: bytes, community: str = "c1", action: str = "quote.add") -> str:
        return self.key.issue(
            audience="quotes",
            subject="twitch:1",
            community_id=community,
            action_id=action,
            body=body,
            ttl_seconds=10,
        )

    async def call(
        self, body: bytes, token: str, *, community: str | None = "c1", instance: int = 0
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if community is not None:
            headers["X-Community-ID"] = community
        return await self.http.post(
            f"{self.urls[instance]}/actions/quote.add", content=body, headers=headers
        )


def _module(router_url: str, redis_url: str | None, added: list[dict[str, Any]]) -> ModuleBase:
    settings = ModuleSettings(
        name="quotes",
        version="1.0.0",
        port=free_port(),
        router_url=router_url,
        router_api_key="unused",
        redis_url=redis_url,
        namespace="hubtest",
    )
    module = ModuleBase(settings)

    @module.action("quote.add")
    async def add(call: ActionCall) -> dict[str, Any]:
        added.append(call.params)
        return {"added": call.params.get("text")}

    return module


@pytest.fixture
async def setup(redis_url: str) -> AsyncIterator[Setup]:
    key = SigningKey.from_private(Ed25519PrivateKey.generate())
    router = Quart("router-jwks")

    @router.get("/.well-known/jwks.json")
    async def jwks() -> dict[str, Any]:
        return key.jwks()

    added: list[dict[str, Any]] = []
    async with serve_app(router) as router_url, httpx.AsyncClient(timeout=10) as http:
        # Two instances of one module sharing Redis, as a scaled-out module runs.
        first, second = (_module(router_url, redis_url, added) for _ in range(2))
        async with (
            serve_app(first.app, first.settings.port) as one,
            serve_app(second.app, second.settings.port) as two,
        ):
            for module in (first, second):
                while module.state not in (Lifecycle.READY, Lifecycle.RUNNING):
                    await asyncio.sleep(0.02)
            yield Setup(key, [one, two], [first, second], added, http)


QUOTE = json.dumps({"params": {"text": "To be or not to be"}}).encode()


async def test_a_captured_token_is_refused_when_replayed(setup: Setup) -> None:
    token = setup.token(QUOTE)
    assert (await setup.call(QUOTE, token)).status_code == 200
    replays = [await setup.call(QUOTE, token) for _ in range(3)]
    assert [r.status_code for r in replays] == [401, 401, 401]
    assert replays[0].json()["error"] == "unauthorized"
    assert len(setup.added) == 1


async def test_a_replay_to_another_instance_is_refused_through_redis(
    setup: Setup, redis_url: str
) -> None:
    token = setup.token(QUOTE)
    assert (await setup.call(QUOTE, token, instance=0)).status_code == 200
    assert (await setup.call(QUOTE, token, instance=1)).status_code == 401
    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = await client.keys("hubtest:jti:quotes:*")
        assert len(keys) == 1
        assert 0 < await client.ttl(keys[0]) <= 10  # remembered until the token expires
    finally:
        await client.aclose()


async def test_a_token_for_another_body_is_refused(setup: Setup) -> None:
    token = setup.token(QUOTE)
    other = json.dumps({"params": {"text": "Something else entirely"}}).encode()
    response = await setup.call(other, token)
    assert response.status_code == 401
    assert setup.added == []
    # Byte-exact: the same JSON with other spacing is another body.
    spaced = json.dumps({"params": {"text": "To be or not to be"}}, indent=1).encode()
    assert (await setup.call(spaced, token)).status_code == 401
    assert (await setup.call(QUOTE, token)).status_code == 200  # not spent by the refusals


@pytest.mark.parametrize("header", ["c2", None, ""])
async def test_a_token_for_another_community_is_refused(setup: Setup, header: str | None) -> None:
    response = await setup.call(QUOTE, setup.token(QUOTE, community="c1"), community=header)
    assert response.status_code == 401
    assert setup.added == []


async def test_a_token_for_another_action_or_too_long_a_life_is_refused(setup: Setup) -> None:
    assert (await setup.call(QUOTE, setup.token(QUOTE, action="quote.random"))).status_code == 401
    import jwt

    claims = {
        "iss": "router",
        "aud": "quotes",
        "sub": "twitch:1",
        "community_id": "c1",
        "action_id": "quote.add",
        "iat": 1_700_000_000,
        "exp": 4_000_000_000,
        "jti": "x",
        "body_sha256": body_digest(QUOTE),
    }
    long_lived = jwt.encode(
        claims, setup.key.private, algorithm="EdDSA", headers={"kid": setup.key.kid}
    )
    assert (await setup.call(QUOTE, long_lived)).status_code == 401


async def test_replays_are_refused_in_process_while_redis_is_down() -> None:
    key = SigningKey.from_private(Ed25519PrivateKey.generate())
    used = UsedTokenIds(aioredis.Redis(port=free_port(), socket_connect_timeout=0.2))
    verifier = RouterTokenVerifier(_StaticJwks(key), "quotes", used)
    token = key.issue(
        audience="quotes", subject="a:1", community_id="c1", action_id="quote.add", body=QUOTE
    )
    call = PresentedCall(f"Bearer {token}", "c1", QUOTE)
    assert (await verifier.verify(call, action_id="quote.add"))["community_id"] == "c1"
    with pytest.raises(InvalidRouterToken):
        await verifier.verify(call, action_id="quote.add")


class _StaticJwks(JwksCache):
    """The JWKS of one key, without HTTP: the verifier's logic alone is under test here."""

    def __init__(self, key: SigningKey) -> None:
        super().__init__(httpx.AsyncClient(), "http://unused.invalid/jwks.json")
        self._jwks = key.jwks()

    async def keys_for(self, token: str) -> dict[str, Any]:
        return self._jwks


_KEY = SigningKey.from_private(Ed25519PrivateKey.generate())
_communities = st.from_regex(r"^[A-Za-z0-9_-]{1,64}$", fullmatch=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.binary(max_size=512),
    other=st.binary(max_size=512),
    community=_communities,
    header=st.one_of(st.none(), _communities),
)
def test_a_token_verifies_once_and_only_for_its_body_and_community(
    body: bytes, other: bytes, community: str, header: str | None
) -> None:
    verifier = RouterTokenVerifier(_StaticJwks(_KEY), "quotes", UsedTokenIds(None))
    token = _KEY.issue(
        audience="quotes", subject="a:1", community_id=community, action_id="q", body=body
    )

    async def outcome(presented: bytes, community_header: str | None) -> bool:
        try:
            await verifier.verify(
                PresentedCall(f"Bearer {token}", community_header, presented), action_id="q"
            )
        except InvalidRouterToken:
            return False
        return True

    async def scenario() -> None:
        if other != body:
            assert not await outcome(other, community)
        if header != community:
            assert not await outcome(body, header)
        assert await outcome(body, community)
        assert not await outcome(body, community)  # spent

    asyncio.run(scenario())


@settings(max_examples=60, deadline=None)
@given(
    garbage=st.one_of(st.text(max_size=300), st.text(max_size=300).map("Bearer {}".format)),
    body=st.binary(max_size=64),
)
def test_garbage_in_the_authorization_header_is_always_401(garbage: str, body: bytes) -> None:
    verifier = RouterTokenVerifier(_StaticJwks(_KEY), "quotes", UsedTokenIds(None))

    async def scenario() -> None:
        with pytest.raises(InvalidRouterToken):
            await verifier.verify(PresentedCall(garbage, "c1", body), action_id="q")

    asyncio.run(scenario())
