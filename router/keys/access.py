"""Wire key authentication and denial auditing into the router app."""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
from quart import Quart

from flask_core import errors
from flask_core.auth import Principal, install_auth

from ..audit.hooks import audit_denial, install_audit_hooks

if TYPE_CHECKING:
    from ..state import RouterState


class RouterAuthenticator:
    """Authenticate through the state's key service, which exists once the lifespan ran."""

    def __init__(self, state: RouterState) -> None:
        self.state = state

    async def authenticate(self, presented_key: str) -> Principal | None:
        try:
            return await self.state.keys.authenticator.authenticate(presented_key)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise errors.ModuleUnavailable("The key store cannot be reached.") from exc


def install_access_control(app: Quart, state: RouterState) -> None:
    """Authenticate keys, enforce guards, audit denials and state-changing requests."""
    install_auth(app, RouterAuthenticator(state), audit_denial)
    install_audit_hooks(app)
