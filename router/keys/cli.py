"""``python -m router keys create|list|revoke``: manage keys without HTTP (the first admin).

The database is resolved like ``python -m router`` does: DATABASE_URL, else the embedded server
in ROUTER_DATA_DIR (joined when the router runs, started and stopped here otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from contextlib import ExitStack
from typing import Any

import redis.exceptions

from flask_core.auth import GLOBAL_SCOPE, ROLES
from flask_core.database import AsyncDAL, migrate
from flask_core.logging import configure_logging
from flask_core.redis_client import create_redis
from flask_core.settings import parse_rate

from .. import __version__
from ..audit.records import AuditRecord
from ..audit.store import AuditStore
from ..settings import RouterSettings
from .known import KnownKeys
from .material import KeyHasher
from .models import ApiKey, NewKey
from .pepper import load_pepper
from .store import KeyStore


def add_key_commands(commands: Any) -> None:
    """Register ``keys create|list|revoke`` on the router's sub-command parser."""
    keys = commands.add_parser("keys", help="create, list or revoke API keys")
    actions = keys.add_subparsers(dest="keys_command", required=True)
    create = actions.add_parser("create", help="mint a key and print it (shown once)")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument(
        "--community", action="append", dest="communities", help="repeat for several (default *)"
    )
    create.add_argument("--module-id")
    create.add_argument("--rate-limit", type=parse_rate)
    actions.add_parser("list", help="print every key as a JSON line (never the secret)")
    revoke = actions.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")


def run_keys(settings: RouterSettings, args: argparse.Namespace) -> int:
    from ..server import resolve_stores

    configure_logging("router", __version__, "WARNING", settings.log_format)
    with ExitStack() as stack:
        settings = resolve_stores(settings, stack)
        return asyncio.run(_run(settings, args))


async def _run(settings: RouterSettings, args: argparse.Namespace) -> int:
    assert settings.database_url and settings.redis_url
    from .. import MIGRATIONS

    dal = await AsyncDAL.connect(settings.database_url, max_size=2)
    try:
        await migrate(dal, MIGRATIONS)
        pepper = await asyncio.to_thread(load_pepper, settings.data_dir, settings.signing_key_file)
        store = KeyStore(dal, KeyHasher(pepper))
        command = args.keys_command
        if command == "create":
            return await _create(store, settings, args)
        if command == "list":
            for key in await store.list(None):
                print(json.dumps(key.public()))
            return 0
        return await _revoke(store, settings, args.key_id)
    finally:
        await dal.close()


async def _audit(dal: AsyncDAL, action: str, result: str, details: dict[str, Any]) -> None:
    record = AuditRecord(
        "AUDIT", action, result, module="router", version=__version__, user="cli", details=details
    )
    await AuditStore(dal).append([record])


async def _create(store: KeyStore, settings: RouterSettings, args: argparse.Namespace) -> int:
    new = NewKey(
        name=args.name,
        role=args.role,
        communities=tuple(dict.fromkeys(args.communities or [GLOBAL_SCOPE])),
        module_id=args.module_id,
        rate_limit=args.rate_limit,
    )
    key, plaintext = await store.create(new)
    await _tell_routers(store, settings, key)
    await _audit(store.dal, "cli keys create", "created", {"key_id": key.id, "role": key.role})
    print(plaintext)
    print(f"created key {key.id} ({key.role}, {','.join(key.communities)})", file=sys.stderr)
    return 0


async def _tell_routers(store: KeyStore, settings: RouterSettings, key: ApiKey) -> None:
    """Keep ``key`` in the last known keys and tell every router process it changed."""
    assert settings.redis_url
    client = create_redis(settings.redis_url, topology=settings.redis_topology)
    try:
        await KnownKeys(client, store.hasher, settings.keyspace).remember(key)
        await client.publish(settings.keyspace.keys_invalidate_channel, key.prefix)
    except (redis.exceptions.RedisError, OSError):
        print("Redis unreachable: routers see the change within 1 s anyway", file=sys.stderr)
    finally:
        await client.aclose()


async def _revoke(store: KeyStore, settings: RouterSettings, key_id: str) -> int:
    key = await store.revoke(key_id)
    if key is None:
        print(f"no key {key_id}", file=sys.stderr)
        return 1
    await _tell_routers(store, settings, key)
    await _audit(store.dal, "cli keys revoke", "revoked", {"key_id": key.id})
    print(f"revoked key {key.id}", file=sys.stderr)
    return 0
