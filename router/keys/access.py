"""Wire key authentication and denial auditing into the router app."""

from __future__ import annotations

import asyncpg
from quart import Quart

from flask_core import errors
from flask_core.auth import Principal, install_auth
from flask_core.slots import ServiceSlot

from ..audit.hooks import audit_denial, install_audit_hooks
from .service import KeyService

KEYS = ServiceSlot[KeyService]("router.keys")


class RouterAuthenticator:
    """Authenticate through the app's key service, which exists once the lifespan ran."""

    async def authenticate(self, presented_key: str) -> Principal | None:
        try:
            return await KEYS.get().authenticator.authenticate(presented_key)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise errors.ModuleUnavailable("The key store cannot be reached.") from exc


def install_access_control(app: Quart) -> None:
    """Authenticate keys, enforce guards, audit denials and state-changing requests."""
    install_auth(app, RouterAuthenticator(), audit_denial)
    install_audit_hooks(app)
