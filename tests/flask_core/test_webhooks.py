from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta

from nacl.signing import SigningKey

from flask_core.platforms.webhooks import (
    DiscordVerifier,
    parse_twitch_timestamp,
    twitch_signature_valid,
    twitch_timestamp_fresh,
)
from flask_core.recent import RecentIds

SECRET = b"twitch-secret-for-tests"


def twitch_sign(message_id: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(SECRET, message_id.encode() + timestamp.encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def test_twitch_signature_accepts_only_the_exact_message() -> None:
    body, stamp = b'{"a":1}', "2026-11-23T10:00:00.123456789Z"
    signature = twitch_sign("m1", stamp, body)
    assert twitch_signature_valid(SECRET, "m1", stamp, body, signature)
    assert not twitch_signature_valid(SECRET, "m2", stamp, body, signature)
    assert not twitch_signature_valid(SECRET, "m1", stamp, body + b" ", signature)
    assert not twitch_signature_valid(b"other", "m1", stamp, body, signature)
    assert not twitch_signature_valid(SECRET, "m1", stamp, body, signature.upper())
    assert not twitch_signature_valid(SECRET, "m1", stamp, body, "sha256=zz\u00e9")


def test_twitch_timestamps_with_nanoseconds_and_window() -> None:
    now = time.time()
    assert parse_twitch_timestamp("2026-11-23T10:00:00.123456789Z") is not None
    assert parse_twitch_timestamp("yesterday") is None
    assert parse_twitch_timestamp("2026-11-23T10:00:00") is None  # no zone

    def stamp(delta: timedelta) -> str:
        return (datetime.fromtimestamp(now, UTC) + delta).isoformat().replace("+00:00", "Z")

    assert twitch_timestamp_fresh(stamp(timedelta(minutes=-9)), now)
    assert not twitch_timestamp_fresh(stamp(timedelta(minutes=-11)), now)
    assert twitch_timestamp_fresh(stamp(timedelta(seconds=30)), now)
    assert not twitch_timestamp_fresh(stamp(timedelta(minutes=2)), now)


def test_discord_signature() -> None:
    key = SigningKey.generate()
    verifier = DiscordVerifier(key.verify_key.encode().hex())
    body, stamp = b'{"type":1}', "1700000000"
    signature = key.sign(stamp.encode() + body).signature.hex()
    assert verifier.valid(signature, stamp, body)
    assert not verifier.valid(signature, "1700000001", body)
    assert not verifier.valid(signature, stamp, b'{"type":2}')
    assert not verifier.valid("00" * 64, stamp, body)
    assert not verifier.valid("not-hex", stamp, body)
    assert not verifier.valid(signature, "", body)


def test_recent_ids_remember_within_capacity() -> None:
    ids = RecentIds(capacity=2)
    assert ids.add("a") and not ids.add("a")
    assert ids.add("b") and ids.add("c")
    assert ids.add("a")  # evicted, so new again
