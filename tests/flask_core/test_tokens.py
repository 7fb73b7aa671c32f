"""Router tokens: signing, JWKS, verification, and the signing-key file."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from flask_core.tokens import (
    InvalidRouterToken,
    JwksCache,
    SigningKey,
    load_or_create_private_key,
    public_jwk,
    verify_router_token,
)


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.from_private(Ed25519PrivateKey.generate())


def issue(key: SigningKey, audience: str = "quotes") -> str:
    return key.issue(audience=audience, subject="twitch:1", community_id="c1", action_id="q.r")


def test_a_token_verifies_with_its_claims(key: SigningKey) -> None:
    claims = verify_router_token(issue(key), key.jwks(), audience="quotes")
    assert claims["iss"] == "router" and claims["aud"] == "quotes"
    assert claims["sub"] == "twitch:1" and claims["community_id"] == "c1"
    assert claims["action_id"] == "q.r" and claims["jti"]
    assert 0 < claims["exp"] - claims["iat"] <= 60
    assert jwt.get_unverified_header(issue(key))["kid"] == key.kid


def test_jwk_is_okp_ed25519_with_rfc7638_thumbprint() -> None:
    # RFC 8037 appendix A.3: the thumbprint of its example key.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    raw = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    jwk = public_jwk(Ed25519PublicKey.from_public_bytes(raw))
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519"
    assert jwk["x"] == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    assert jwk["kid"] == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_wrong_audience_is_rejected(key: SigningKey) -> None:
    with pytest.raises(InvalidRouterToken):
        verify_router_token(issue(key, "other"), key.jwks(), audience="quotes")


def test_a_token_from_another_key_is_rejected(key: SigningKey) -> None:
    forger = SigningKey.from_private(Ed25519PrivateKey.generate())
    forged = jwt.encode(
        jwt.decode(issue(forger), options={"verify_signature": False}),
        forger.private,
        algorithm="EdDSA",
        headers={"kid": key.kid},
    )
    with pytest.raises(InvalidRouterToken):
        verify_router_token(forged, key.jwks(), audience="quotes")


def test_expired_wrong_issuer_and_garbage_are_rejected(key: SigningKey) -> None:
    now = int(time.time())
    base = {"aud": "quotes", "sub": "x:1", "jti": "j", "iat": now - 120}
    headers = {"kid": key.kid}
    expired = jwt.encode(
        {**base, "iss": "router", "exp": now - 60}, key.private, "EdDSA", headers=headers
    )
    wrong_iss = jwt.encode(
        {**base, "iss": "mallory", "exp": now + 30}, key.private, "EdDSA", headers=headers
    )
    for token in (expired, wrong_iss, "garbage", ""):
        with pytest.raises(InvalidRouterToken):
            verify_router_token(token, key.jwks(), audience="quotes")


def test_key_file_is_created_once_0600_and_shared(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "signing.pem"
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: load_or_create_private_key(path), range(8)))
    kids = {SigningKey.from_private(k).kid for k in keys}
    assert len(kids) == 1
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert SigningKey.from_private(load_or_create_private_key(path)).kid in kids
    assert [p.name for p in path.parent.iterdir()] == ["signing.pem"]


async def test_jwks_cache_fetches_once_and_refetches_for_a_new_kid(key: SigningKey) -> None:
    with respx.mock(base_url="http://router") as router:
        route = router.get("/.well-known/jwks.json").mock(
            return_value=httpx.Response(200, json=key.jwks())
        )
        async with httpx.AsyncClient() as http:
            cache = JwksCache(http, "http://router/.well-known/jwks.json", min_refresh_seconds=0)
            for _ in range(3):
                await cache.verify(issue(key), audience="quotes")
            assert route.call_count == 1
            rotated = SigningKey.from_private(Ed25519PrivateKey.generate())
            route.mock(return_value=httpx.Response(200, json=rotated.jwks()))
            await cache.verify(issue(rotated), audience="quotes")
            assert route.call_count == 2
