"""The registry in PostgreSQL: registrations, leases, and the rows a snapshot is built from."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from flask_core.database import AsyncDAL
from flask_core.errors import Conflict

from .models import InstanceView, ModuleView, Registration

# Registrations are rare; serialising them makes the claim check and the write one decision.
_REGISTRY_LOCK = 0x52656769737472


@dataclass(frozen=True, slots=True)
class Registered:
    created: bool
    registered_at: datetime
    lease_expires_at: datetime


def _claims(registration: Registration) -> list[tuple[str, str]]:
    return [("action", a["id"]) for a in registration.actions] + [
        ("command", c["name"]) for c in registration.commands
    ]


class RegistryStore:
    """SQL for the module registry; every value goes through a bind parameter."""

    def __init__(self, dal: AsyncDAL, lease_ttl_seconds: int) -> None:
        self.dal = dal
        self.lease_ttl_seconds = lease_ttl_seconds

    async def register(self, registration: Registration) -> Registered:
        """Store the module and its instance; 409 when another module claims a name."""
        async with self.dal.transaction() as conn:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _REGISTRY_LOCK)
            await self._check_claims(conn, registration)
            await self._upsert_module(conn, registration)
            return await self._upsert_instance(conn, registration)

    async def _check_claims(self, conn: asyncpg.Connection, registration: Registration) -> None:
        claims = _claims(registration)
        if not claims:
            return
        rows = await conn.fetch(
            "SELECT kind, name, module_id FROM registry_claims"
            " WHERE (kind, name) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
            " AND module_id <> $3",
            [kind for kind, _ in claims],
            [name for _, name in claims],
            registration.module_id,
        )
        if rows:
            taken = ", ".join(f"{r['kind']} {r['name']} (module {r['module_id']})" for r in rows)
            raise Conflict(f"Already claimed by another module: {taken}.")

    async def _upsert_module(self, conn: asyncpg.Connection, registration: Registration) -> None:
        await conn.execute(
            "INSERT INTO registry_modules (module_id, module_version, module_type, endpoints,"
            " actions, commands, subscriptions) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (module_id) DO UPDATE SET module_version = EXCLUDED.module_version,"
            " module_type = EXCLUDED.module_type, endpoints = EXCLUDED.endpoints,"
            " actions = EXCLUDED.actions, commands = EXCLUDED.commands,"
            " subscriptions = EXCLUDED.subscriptions, updated_at = now()",
            registration.module_id,
            registration.module_version,
            registration.module_type,
            json.dumps(list(registration.endpoints)),
            json.dumps(list(registration.actions)),
            json.dumps(list(registration.commands)),
            json.dumps(list(registration.subscriptions)),
        )
        await conn.execute(
            "DELETE FROM registry_claims WHERE module_id = $1", registration.module_id
        )
        claims = _claims(registration)
        await conn.executemany(
            "INSERT INTO registry_claims (kind, name, module_id) VALUES ($1, $2, $3)",
            [(kind, name, registration.module_id) for kind, name in claims],
        )

    async def _upsert_instance(
        self, conn: asyncpg.Connection, registration: Registration
    ) -> Registered:
        row = await conn.fetchrow(
            "INSERT INTO registry_instances (module_id, instance_id, base_url, health_check,"
            " lease_expires_at, owner_key_id, communities)"
            " VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5), $6, $7)"
            " ON CONFLICT (module_id, instance_id) DO UPDATE SET base_url = EXCLUDED.base_url,"
            " health_check = EXCLUDED.health_check,"
            " lease_expires_at = EXCLUDED.lease_expires_at,"
            " owner_key_id = EXCLUDED.owner_key_id, communities = EXCLUDED.communities"
            " RETURNING (xmax = 0) AS created, registered_at, lease_expires_at",
            registration.module_id,
            registration.instance_id,
            registration.base_url,
            registration.health_check,
            float(self.lease_ttl_seconds),
            registration.owner_key_id,
            json.dumps(list(registration.communities)),
        )
        assert row is not None
        return Registered(row["created"], row["registered_at"], row["lease_expires_at"])

    async def renew(self, module_id: str, instance_id: str) -> datetime | None:
        """Extend a live lease; None when the instance is unknown or its lease has run out."""
        value: datetime | None = await self.dal.fetchval(
            "UPDATE registry_instances"
            " SET lease_expires_at = now() + make_interval(secs => $3)"
            " WHERE module_id = $1 AND instance_id = $2 AND lease_expires_at > now()"
            " RETURNING lease_expires_at",
            module_id,
            instance_id,
            float(self.lease_ttl_seconds),
        )
        return value

    async def remove_instance(self, module_id: str, instance_id: str) -> bool:
        status = await self.dal.execute(
            "DELETE FROM registry_instances WHERE module_id = $1 AND instance_id = $2",
            module_id,
            instance_id,
        )
        return status.endswith(" 1")

    async def reap(self, older_than_seconds: float) -> int:
        """Forget instances whose lease ran out long ago; return how many."""
        status = await self.dal.execute(
            "DELETE FROM registry_instances"
            " WHERE lease_expires_at < now() - make_interval(secs => $1)",
            older_than_seconds,
        )
        return int(status.rsplit(" ", 1)[-1])

    async def load(self) -> list[ModuleView]:
        """Every module with its instances (health is filled in from Redis by the caller)."""
        async with self.dal.acquire() as conn, conn.transaction(readonly=True):
            modules = await conn.fetch("SELECT * FROM registry_modules ORDER BY module_id")
            instances = await conn.fetch(
                "SELECT * FROM registry_instances ORDER BY module_id, registered_at, instance_id"
            )
        by_module: dict[str, list[InstanceView]] = {}
        for row in instances:
            by_module.setdefault(row["module_id"], []).append(
                InstanceView(
                    module_id=row["module_id"],
                    instance_id=row["instance_id"],
                    base_url=row["base_url"],
                    health_check=row["health_check"],
                    lease_expires_at=row["lease_expires_at"],
                    owner_key_id=row["owner_key_id"],
                    communities=tuple(_json(row["communities"])),
                )
            )
        return [_module_view(row, by_module.get(row["module_id"], [])) for row in modules]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _module_view(row: asyncpg.Record, instances: list[InstanceView]) -> ModuleView:
    return ModuleView(
        module_id=row["module_id"],
        module_version=row["module_version"],
        module_type=row["module_type"],
        endpoints=tuple(_json(row["endpoints"])),
        actions=tuple(_json(row["actions"])),
        commands=tuple(_json(row["commands"])),
        subscriptions=tuple(_json(row["subscriptions"])),
        instances=tuple(instances),
    )
