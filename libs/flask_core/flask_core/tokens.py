"""Router→module tokens: EdDSA (Ed25519) JWTs signed by the router, verified against its JWKS.

Only the router holds the private key, so no module can mint a token another module accepts.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import tempfile
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import redis.asyncio as aioredis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from redis.exceptions import RedisError

from .errors import Unauthorized
from .keyspace import DEFAULT_KEYSPACE, Keyspace
from .logging import get_logger

ISSUER = "router"
ALGORITHM = "EdDSA"
MAX_TOKEN_SECONDS = 60

_log = get_logger("flask_core.tokens")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def body_digest(body: bytes) -> str:
    """The ``body_sha256`` claim of ``body``: base64url (unpadded) SHA-256 of the exact bytes."""
    return _b64url(hashlib.sha256(body).digest())


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
        body: bytes = b"",
    ) -> str:
        """Sign a single-use token for one call of ``action_id`` in ``audience`` (a module id).

        The token is bound to ``body``, the exact bytes the call sends (``body_sha256``), and
        carries a fresh ``jti`` the module remembers until ``exp`` so it cannot be replayed.
        """
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": audience,
            "sub": subject,
            "community_id": community_id,
            "action_id": action_id,
            "iat": now,
            "exp": now + max(1, min(ttl_seconds, MAX_TOKEN_SECONDS)),
            "jti": uuid.uuid4().hex,
            "body_sha256": body_digest(body),
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
            options={"require": ["exp", "iat", "iss", "aud", "sub", "jti", "body_sha256"]},
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


class UsedTokenIds:
    """The ``jti`` of every token a module accepted, remembered until the token expires.

    Shared by all instances of a module through Redis (``SET [ns:]jti:{aud}:{jti} 1 NX
    EXAT exp``: the first instance to record a jti wins, every later use is a replay). The
    in-process memory is checked first and always kept, so a replay to the same instance is
    refused even while Redis is down; it holds at most ``capacity`` ids (the oldest go first,
    which are also the first to expire: tokens live at most 60 s).
    """

    def __init__(
        self,
        redis: aioredis.Redis | None,
        *,
        keyspace: Keyspace = DEFAULT_KEYSPACE,
        capacity: int = 100_000,
    ) -> None:
        self._redis = redis
        self._keyspace = keyspace
        self._capacity = capacity
        self._local: OrderedDict[str, int] = OrderedDict()
        self._redis_failed = False

    def use_redis(self, redis: aioredis.Redis | None) -> None:
        self._redis = redis

    async def first_use(self, audience: str, jti: str, expires_at: int) -> bool:
        """Record ``jti`` until ``expires_at``; False when it was accepted before."""
        key = self._keyspace.token_id(audience, jti)
        if not self._remember_locally(key, expires_at):
            return False
        if self._redis is None:
            return True
        try:
            first = await self._redis.set(key, 1, nx=True, exat=expires_at)
        except (RedisError, OSError) as error:
            if not self._redis_failed:  # say it once per outage, not once per call
                _log.warning("token ids kept in process only: %r", error)
            self._redis_failed = True
            return True
        self._redis_failed = False
        return bool(first)

    def _remember_locally(self, key: str, expires_at: int) -> bool:
        now = time.time()
        known = self._local.get(key)
        if known is not None and known >= now:
            return False
        self._local[key] = expires_at
        while self._local and (
            len(self._local) > self._capacity or next(iter(self._local.values())) < now
        ):
            self._local.popitem(last=False)
        return True


@dataclass(frozen=True, slots=True)
class PresentedCall:
    """What a router call presents: its bearer header, community header and body bytes."""

    authorization: str
    community_header: str | None
    body: bytes


class RouterTokenVerifier:
    """Check that a router token authorises exactly this call, once (SPEC §5)."""

    def __init__(self, jwks: JwksCache, audience: str, used: UsedTokenIds) -> None:
        self.jwks = jwks
        self.audience = audience
        self.used = used

    async def verify(self, call: PresentedCall, *, action_id: str) -> dict[str, Any]:
        """The token's claims; InvalidRouterToken (401) unless every binding holds."""
        scheme, _, token = call.authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidRouterToken("A router token is required.")
        claims = await self.jwks.verify(token.strip(), audience=self.audience)
        community = claims.get("community_id")
        if claims.get("action_id") != action_id or not isinstance(community, str):
            raise InvalidRouterToken("The router token is for another call.")
        if call.community_header != community:
            raise InvalidRouterToken("The router token is for another community.")
        digest = claims.get("body_sha256")
        if not isinstance(digest, str) or not hmac.compare_digest(digest, body_digest(call.body)):
            raise InvalidRouterToken("The router token is for another body.")
        jti, expires_at = claims.get("jti"), claims.get("exp")
        if not isinstance(jti, str) or not jti or len(jti) > 128 or not isinstance(expires_at, int):
            raise InvalidRouterToken("The router token has no usable id.")
        if not await self.used.first_use(self.audience, jti, expires_at):
            raise InvalidRouterToken("The router token was already used.")
        return claims
