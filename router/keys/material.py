"""Key material: generating keys, finding their lookup prefix, and the keyed hash we store.

A generated key reads ``rh_<prefix>_<secret>``: the prefix (12 hex characters) is public and
used for lookup, the secret carries 256 bits from ``secrets.token_urlsafe(32)``. Only
HMAC-SHA256(pepper, key) is stored. A key of any other shape (the bootstrap admin key may be
anything the operator chose) gets a prefix derived from its keyed hash, so it is found the same
way without storing anything reversible.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

KEY_SCHEME = "rh"
_GENERATED = re.compile(r"^rh_([0-9a-f]{12})_([A-Za-z0-9_-]{43,})$")
MAX_PRESENTED_LENGTH = 512


def generate_key() -> tuple[str, str]:
    """A new key and its public prefix."""
    prefix = secrets.token_hex(6)
    return f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}", prefix


class KeyHasher:
    """Keyed hashing with the server pepper; the pepper never leaves this object."""

    def __init__(self, pepper: bytes) -> None:
        if len(pepper) < 32:
            raise ValueError("the key pepper needs at least 32 bytes")
        self._pepper = pepper

    def __repr__(self) -> str:
        return "KeyHasher(pepper=[redacted])"

    def digest(self, key: str) -> bytes:
        return hmac.new(self._pepper, key.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()

    def matches(self, key: str, stored: bytes) -> bool:
        return hmac.compare_digest(self.digest(key), stored)

    def seal(self, record: bytes) -> bytes:
        """A MAC over a key record kept outside PostgreSQL (the last known keys): whoever can
        write to Redis but has no pepper cannot change a role or a scope there."""
        sealing_key = hmac.new(self._pepper, b"seal:last-known-keys", hashlib.sha256).digest()
        return hmac.new(sealing_key, record, hashlib.sha256).digest()

    def prefix_of(self, key: str) -> str | None:
        """The lookup prefix of a presented key; None when it cannot be a key."""
        if not key or len(key) > MAX_PRESENTED_LENGTH:
            return None
        match = _GENERATED.match(key)
        if match:
            return match.group(1)
        material = b"prefix:" + key.encode("utf-8", "surrogatepass")
        derived = hmac.new(self._pepper, material, hashlib.sha256)
        return "x" + derived.hexdigest()[:15]
