"""Wire key authentication and denial auditing into the router app."""

from __future__ import annotations

from quart import Quart, request

from flask_core import errors
from flask_core.auth import API_KEY_HEADER, Principal, install_auth
from flask_core.slots import ServiceSlot

from ..audit.hooks import audit_denial, install_audit_hooks
from ..ratelimits.limits import LIMITS
from .authenticator import KeysUnverifiable
from .service import KeyService

KEYS = ServiceSlot[KeyService]("router.keys")


class RouterAuthenticator:
    """Authenticate through the app's key service, which exists once the lifespan ran."""

    async def authenticate(self, presented_key: str) -> Principal | None:
        try:
            return await KEYS.get().authenticator.authenticate(presented_key)
        except KeysUnverifiable as exc:
            # Never a 401 for a key that may exist: the caller tries again shortly.
            raise errors.ModuleUnavailable(
                "The key store cannot be reached and this key is not among the last known keys."
            ) from exc


class RouterAnonymousGate:
    """The anonymous limit of the app's rate limits, which exist once the lifespan ran."""

    async def admit(self, address: str) -> None:
        await LIMITS.get().anonymous.admit(address)

    async def refused(self, address: str) -> None:
        await LIMITS.get().anonymous.refused(address)


async def _audit_denial(category: str, reason: str, principal: Principal | None) -> None:
    """Audit a denial; an AUTH failure is folded by the public prefix of the key presented
    (a prefix derived from its keyed hash for keys of other shapes), never the key."""
    prefix = None
    if category == "AUTH":
        presented = request.headers.get(API_KEY_HEADER, "")
        prefix = KEYS.get().store.hasher.prefix_of(presented) if presented else None
    await audit_denial(category, reason, principal, key_prefix=prefix)


def install_access_control(app: Quart) -> None:
    """Authenticate keys, enforce guards, audit denials and state-changing requests."""
    install_auth(app, RouterAuthenticator(), _audit_denial, RouterAnonymousGate())
    install_audit_hooks(app)
