"""Verification of platform webhooks: Twitch EventSub (HMAC-SHA256) and Discord (Ed25519)."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from datetime import datetime
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from .. import errors, jsonio

TWITCH_MAX_AGE_SECONDS = 600
TWITCH_MAX_SKEW_SECONDS = 60
_FRACTION = re.compile(r"\.(\d+)")
_HEX = re.compile(r"^[0-9a-fA-F]+$")


def parse_twitch_timestamp(value: str) -> float | None:
    """Seconds since the epoch of an RFC 3339 timestamp (Twitch sends nanoseconds)."""
    if not value or len(value) > 64:
        return None
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value, count=1)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


def twitch_signature_valid(
    secret: bytes, message_id: str, timestamp: str, body: bytes, signature: str
) -> bool:
    """Check ``sha256=<hex>`` over message id + timestamp + raw body, in constant time."""
    expected = hmac.new(secret, message_id.encode() + timestamp.encode() + body, hashlib.sha256)
    presented = signature.encode("ascii", "replace")
    return hmac.compare_digest(b"sha256=" + expected.hexdigest().encode(), presented)


def twitch_timestamp_fresh(timestamp: str, now: float | None = None) -> bool:
    """Not older than 10 minutes, not more than 1 minute in the future."""
    sent = parse_twitch_timestamp(timestamp)
    if sent is None:
        return False
    age = (time.time() if now is None else now) - sent
    return -TWITCH_MAX_SKEW_SECONDS <= age <= TWITCH_MAX_AGE_SECONDS


class DiscordVerifier:
    """Ed25519 check of ``X-Signature-Ed25519`` over timestamp + raw body."""

    def __init__(self, public_key_hex: str) -> None:
        self._key = VerifyKey(bytes.fromhex(public_key_hex))

    def valid(self, signature_hex: str, timestamp: str, body: bytes) -> bool:
        if len(signature_hex) != 128 or not _HEX.match(signature_hex) or not timestamp:
            return False
        try:
            self._key.verify(timestamp.encode() + body, bytes.fromhex(signature_hex))
        except (BadSignatureError, ValueError):
            return False
        return True


def webhook_json(body: bytes) -> dict[str, Any]:
    """A verified webhook body as the JSON object every platform sends (else a 400)."""
    message = jsonio.loads(body)  # strict: NaN, lone surrogates, deep nesting → 400
    if not isinstance(message, dict):
        raise errors.BadRequest("The body must be a JSON object.")
    return message


DISCORD_MAX_AGE_SECONDS = 300
DISCORD_MAX_SKEW_SECONDS = 60
_UNIX_SECONDS = re.compile(r"^[0-9]{1,12}$", re.ASCII)


def discord_timestamp_fresh(timestamp: str, now: float | None = None) -> bool:
    """``X-Signature-Timestamp`` (Unix seconds): at most 5 minutes old, 1 minute ahead.

    The signature covers the timestamp, so refusing stale ones stops a captured interaction
    from being replayed later.
    """
    if not _UNIX_SECONDS.match(timestamp):
        return False
    age = (time.time() if now is None else now) - int(timestamp)
    return -DISCORD_MAX_SKEW_SECONDS <= age <= DISCORD_MAX_AGE_SECONDS
