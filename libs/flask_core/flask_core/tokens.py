"""Router→module tokens: EdDSA (Ed25519) JWTs signed by the router, verified against its JWKS.

Only the router holds the private key, so no module can mint a token another module accepts.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import Unauthorized

ISSUER = "router"
ALGORITHM = "EdDSA"
MAX_TOKEN_SECONDS = 60


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_jwk(public: Ed25519PublicKey) -> dict[str, str]:
    """The OKP/Ed25519 JWK of ``public`` with its RFC 7638 thumbprint as ``kid``."""
    x = _b64url(_raw_public(public))
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    kid = _b64url(hashlib.sha256(canonical.encode()).digest())
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": ALGORITHM, "use": "sig"}


@dataclass(frozen=True)
class SigningKey:
    """The router's Ed25519 key and its ``kid``."""

    private: Ed25519PrivateKey
    kid: str

    @classmethod
    def from_private(cls, private: Ed25519PrivateKey) -> SigningKey:
        return cls(private, public_jwk(private.public_key())["kid"])

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [public_jwk(self.private.public_key())]}

    def issue(
        self,
        *,
        audience: str,
        subject: str,
        community_id: str,
        action_id: str,
        ttl_seconds: int = 30,
    ) -> str:
        """Sign a token for one call of ``action_id`` in ``audience`` (a module id)."""
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": audience,
            "sub": subject,
            "community_id": community_id,
            "action_id": action_id,
            "iat": now,
            "exp": now + min(ttl_seconds, MAX_TOKEN_SECONDS),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.private, algorithm=ALGORITHM, headers={"kid": self.kid})


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def load_or_create_private_key(path: Path) -> Ed25519PrivateKey:
    """Read the PEM key at ``path``, creating it (0600) first if absent.

    The file appears atomically (hard link of a complete temp file), so processes starting
    together all end up with the one key that won the race.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor, temp = tempfile.mkstemp(dir=path.parent, prefix=".signing-")
        try:
            os.fchmod(descriptor, 0o600)
            os.write(descriptor, pem)
            os.fsync(descriptor)
            os.close(descriptor)
            with contextlib.suppress(FileExistsError):  # another process won: use its key
                os.link(temp, path)
        finally:
            os.unlink(temp)
    return load_private_key(path)


class InvalidRouterToken(Unauthorized):
    default_detail = "A valid router token is required."


def _public_keys(jwks: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in jwks.get("keys", []):
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and "kid" in jwk:
            keys[jwk["kid"]] = Ed25519PublicKey.from_public_bytes(_b64url_decode(jwk["x"]))
    return keys


def token_kid(token: str) -> str | None:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        return None
    return kid if isinstance(kid, str) else None


def verify_router_token(token: str, jwks: Mapping[str, Any], *, audience: str) -> dict[str, Any]:
    """The claims of a router token for ``audience``; InvalidRouterToken (401) otherwise."""
    key = _public_keys(jwks).get(token_kid(token) or "")
    if key is None:
        raise InvalidRouterToken("The token is not signed by a known router key.")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidRouterToken(f"The router token is invalid: {type(exc).__name__}.") from exc
    if claims["exp"] - claims["iat"] > MAX_TOKEN_SECONDS:
        raise InvalidRouterToken("The router token lives too long.")
    return claims


class JwksCache:
    """The router's JWKS, fetched once and again when an unknown ``kid`` shows up."""

    def __init__(self, http: httpx.AsyncClient, url: str, *, min_refresh_seconds: float = 5.0):
        self._http = http
        self._url = url
        self._min_refresh = min_refresh_seconds
        self._jwks: dict[str, Any] = {"keys": []}
        self._fetched_at = float("-inf")

    def _knows(self, kid: str | None) -> bool:
        return any(key.get("kid") == kid for key in self._jwks["keys"])

    async def refresh(self) -> None:
        response = await self._http.get(self._url)
        response.raise_for_status()
        self._jwks = response.json()
        self._fetched_at = time.monotonic()

    async def keys_for(self, token: str) -> dict[str, Any]:
        """The JWKS, refreshed (at most every few seconds) when it lacks the token's kid."""
        kid = token_kid(token)
        stale = time.monotonic() - self._fetched_at >= self._min_refresh
        if not self._knows(kid) and stale:
            try:
                await self.refresh()
            except (httpx.HTTPError, ValueError):
                self._fetched_at = time.monotonic()  # do not hammer a router that is down
        return self._jwks

    async def verify(self, token: str, *, audience: str) -> dict[str, Any]:
        return verify_router_token(token, await self.keys_for(token), audience=audience)
