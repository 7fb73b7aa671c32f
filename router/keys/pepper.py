"""The server pepper of the keyed key hash, shared by every worker and replica.

With ``ROUTER_SIGNING_KEY_FILE`` set (which every replica must share anyway) the pepper is
derived from that file with HKDF, so replicas agree without another secret to distribute.
Otherwise it is 32 random bytes kept in ``ROUTER_DATA_DIR/api_key_pepper`` (mode 0600),
created once by whichever process starts first. Changing the pepper (or the signing key it is
derived from) invalidates every stored key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PEPPER_FILE_NAME = "api_key_pepper"
PEPPER_BYTES = 32


def load_pepper(data_dir: Path, signing_key_file: Path | None) -> bytes:
    """Return the pepper (blocking file I/O: call through a thread)."""
    if signing_key_file is not None:
        return _derive(signing_key_file.read_bytes())  # missing: a start-up error, on purpose
    return _read_or_create(Path(data_dir) / PEPPER_FILE_NAME)


def _derive(material: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=PEPPER_BYTES, salt=None, info=b"router-api-keys")
    return hkdf.derive(material)


def _read_or_create(path: Path) -> bytes:
    if path.exists():
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(secrets.token_bytes(PEPPER_BYTES))
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(candidate, path)  # fails when another process won the race: use theirs
    except FileExistsError:
        pass
    finally:
        candidate.unlink()
    return _read(path)


def _read(path: Path) -> bytes:
    pepper = path.read_bytes()
    if len(pepper) < PEPPER_BYTES:
        raise RuntimeError(f"{path} is shorter than {PEPPER_BYTES} bytes")
    return pepper
