"""Bootstrap keys: the admin and module keys a deployment starts with, made before any router runs.

``python -m router secrets init DIR`` writes (files 0600, folders 0700) one folder per
service, so each service can be given its own secrets and nothing else:

- ``router/signing_key.pem``: the router's Ed25519 key (``ROUTER_SIGNING_KEY_FILE``; the key
  pepper is derived from it, so every replica shares one pepper without another secret);
- ``router/bootstrap-keys.json``: one global admin key and one key per module, each module key
  bound to its ``module_id`` (``ROUTER_BOOTSTRAP_KEYS_FILE``: the router makes every key in it
  exist at start-up, idempotently, like ``ROUTER_BOOTSTRAP_ADMIN_KEY``);
- ``{module}/ROUTER_API_KEY``: that module's key alone (``ROUTER_API_KEY_FILE``; the file name
  is the variable's, so a Kubernetes Secret made from the folder works with ``envFrom`` too);
- ``admin.key``: the admin key, for the operator only.

Running it again keeps every secret that exists and only adds what is missing (a new module);
``force=True`` replaces them all.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from flask_core.auth import GLOBAL_SCOPE, ROLES

from ..modulelist import listed_modules
from .material import generate_key
from .models import NewKey

ROUTER_FOLDER = "router"
SIGNING_KEY_FILE = "signing_key.pem"
KEYS_FILE = "bootstrap-keys.json"
MODULE_KEY_FILE = "ROUTER_API_KEY"
ADMIN_KEY_FILE = "admin.key"
ADMIN_NAME = "admin"
FORMAT_VERSION = 1


def shipped_modules() -> tuple[tuple[str, str], ...]:
    """The modules this repository ships (``modules/hub.toml``), with the role of each key."""
    return tuple((module.name, module.role) for module in listed_modules())


_MODULE_ID = re.compile(r"^[a-z][a-z0-9_-]{1,62}$")


class BootstrapError(ValueError):
    """The bootstrap keys file is missing, unreadable or malformed; the message says which."""


@dataclass(frozen=True)
class BootstrapKey:
    """One key of the bootstrap file: what the router must make exist, with its secret."""

    name: str
    role: str
    communities: tuple[str, ...]
    module_id: str | None
    key: str

    def __repr__(self) -> str:
        return f"BootstrapKey(name={self.name!r}, role={self.role!r}, key=[redacted])"

    def new_key(self) -> NewKey:
        return NewKey(
            name=self.name, role=self.role, communities=self.communities, module_id=self.module_id
        )

    def document(self) -> dict[str, Any]:
        return {**asdict(self), "communities": list(self.communities)}

    @classmethod
    def parse(cls, entry: Any, where: str) -> BootstrapKey:
        if not isinstance(entry, dict):
            raise BootstrapError(f"{where}: each key must be an object")
        name, role, key = entry.get("name"), entry.get("role"), entry.get("key")
        communities, module_id = entry.get("communities", [GLOBAL_SCOPE]), entry.get("module_id")
        if not isinstance(name, str) or not name:
            raise BootstrapError(f"{where}: a key needs a non-empty name")
        if role not in ROLES:
            raise BootstrapError(f"{where}: key {name!r} has an unknown role {role!r}")
        if not isinstance(key, str) or not 32 <= len(key) <= 512:
            raise BootstrapError(f"{where}: key {name!r} needs a secret of 32..512 characters")
        if not (isinstance(communities, list) and communities and all(communities)):
            raise BootstrapError(f"{where}: key {name!r} needs a non-empty communities list")
        if module_id is not None and not _MODULE_ID.match(str(module_id)):
            raise BootstrapError(f"{where}: key {name!r} has an invalid module_id")
        return cls(name, role, tuple(str(c) for c in communities), module_id, key)


def module_key(module_id: str, role: str) -> BootstrapKey:
    """A fresh key bound to ``module_id`` (registry writes need a bound key)."""
    plaintext, _ = generate_key()
    return BootstrapKey(f"module-{module_id}", role, (GLOBAL_SCOPE,), module_id, plaintext)


def admin_key() -> BootstrapKey:
    plaintext, _ = generate_key()
    return BootstrapKey(ADMIN_NAME, "admin", (GLOBAL_SCOPE,), None, plaintext)


def load_bootstrap_keys(path: Path) -> list[BootstrapKey]:
    """Read and check a bootstrap keys file (blocking: call through a thread)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise BootstrapError(f"{path}: cannot be read ({error.strerror})") from None
    except ValueError:
        raise BootstrapError(f"{path}: is not JSON") from None
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise BootstrapError(f"{path}: needs a 'keys' list")
    keys = [BootstrapKey.parse(entry, str(path)) for entry in entries]
    names = [key.name for key in keys]
    if len(set(names)) != len(names):
        raise BootstrapError(f"{path}: key names must be unique")
    return keys


def write_private(path: Path, content: bytes, *, replace: bool) -> bool:
    """Write ``content`` to ``path`` (0600) atomically; keep an existing file unless ``replace``.

    Returns whether the file was written. A reader never sees a half-written secret: the file
    appears by rename (replace) or hard link (create only, so a concurrent writer's file wins).
    """
    if path.exists() and not replace:
        return False
    descriptor, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, content)
        os.fsync(descriptor)
        os.close(descriptor)
        if replace:
            os.replace(temp, path)
            return True
        try:
            os.link(temp, path)
        except FileExistsError:
            return False
        return True
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def _signing_key_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _merged_keys(
    existing: Sequence[BootstrapKey], modules: Sequence[tuple[str, str]]
) -> list[BootstrapKey]:
    """The existing keys, plus an admin key and a key per module where none exists yet."""
    keys = list(existing)
    if not any(key.role == "admin" and key.module_id is None for key in keys):
        keys.insert(0, admin_key())
    bound = {key.module_id for key in keys}
    keys.extend(module_key(module, role) for module, role in modules if module not in bound)
    return keys


def _folder(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _write_derived(directory: Path, keys: Sequence[BootstrapKey]) -> None:
    """The per-service key files; always rewritten so they match the keys file."""
    for key in keys:
        if key.module_id is not None:
            path = _folder(directory / key.module_id) / MODULE_KEY_FILE
            write_private(path, key.key.encode(), replace=True)
        elif key.name == ADMIN_NAME:
            write_private(directory / ADMIN_KEY_FILE, key.key.encode(), replace=True)


def init_secrets(
    directory: Path, modules: Sequence[tuple[str, str]] | None = None, *, force: bool = False
) -> list[str]:
    """Create the deployment's secrets in ``directory``; return the files created anew.

    ``modules`` defaults to the shipped ones."""
    modules = shipped_modules() if modules is None else modules
    router = _folder(_folder(directory) / ROUTER_FOLDER)
    created = []
    if write_private(router / SIGNING_KEY_FILE, _signing_key_pem(), replace=force):
        created.append(f"{ROUTER_FOLDER}/{SIGNING_KEY_FILE}")
    keys_path = router / KEYS_FILE
    existing = [] if force or not keys_path.exists() else load_bootstrap_keys(keys_path)
    keys = _merged_keys(existing, modules)
    if keys != existing:
        document = {"version": FORMAT_VERSION, "keys": [key.document() for key in keys]}
        write_private(keys_path, (json.dumps(document, indent=2) + "\n").encode(), replace=True)
        created.append(f"{ROUTER_FOLDER}/{KEYS_FILE}")
    _write_derived(directory, keys)
    return created


def parse_module(text: str) -> tuple[str, str]:
    """``name:role`` from the command line (``argparse`` type)."""
    module, _, role = text.partition(":")
    if not _MODULE_ID.match(module) or role not in ROLES:
        raise ValueError(f"expected NAME:ROLE with a role among {', '.join(ROLES)}")
    return module, role
