from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from router.keys.material import KeyHasher, generate_key
from router.keys.pepper import PEPPER_FILE_NAME, load_pepper


def test_pepper_is_created_once_private_and_reused(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        peppers = set(pool.map(lambda _: load_pepper(tmp_path, None), range(16)))
    assert len(peppers) == 1
    assert len(next(iter(peppers))) == 32
    assert stat.S_IMODE((tmp_path / PEPPER_FILE_NAME).stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [PEPPER_FILE_NAME]


def test_replicas_sharing_the_signing_key_share_the_pepper(tmp_path: Path) -> None:
    signing = tmp_path / "signing.pem"
    signing.write_bytes(b"-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n")
    first = load_pepper(tmp_path / "a", signing)
    assert first == load_pepper(tmp_path / "b", signing)
    assert first != load_pepper(tmp_path / "a", None)
    with pytest.raises(FileNotFoundError):
        load_pepper(tmp_path, tmp_path / "missing.pem")


def test_generated_keys_carry_256_bits_and_a_public_prefix(tmp_path: Path) -> None:
    hasher = KeyHasher(load_pepper(tmp_path, None))
    keys = {generate_key() for _ in range(50)}
    for key, prefix in keys:
        secret = key.split("_", 2)[2]
        assert len(secret) >= 43  # token_urlsafe(32): 256 random bits
        assert hasher.prefix_of(key) == prefix
        assert hasher.matches(key, hasher.digest(key))
        assert not hasher.matches(key + "x", hasher.digest(key))
    assert len({prefix for _, prefix in keys}) == 50
    assert "pepper" not in repr(hasher) or "redacted" in repr(hasher)
