"""Authentication as a backend, roles as declarative guards, the community resolved once.

Every route declares a guard: ``@public`` or ``@require_api_key(*roles, scoped=...)`` on the
view (both forms of ``flask_core.routes.route``), or ``guard_blueprint(bp, ...)`` for a whole
blueprint; ``api_key(...).also(check, ...)`` composes extra conditions on the caller.
``check_guards`` refuses to start an app with an unguarded route, so nothing is open by accident.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from quart import Blueprint, Quart, g, request

from . import errors
from .api import observe_errors
from .logging import bind
from .routes import declare_blueprint_guard, meta_of, route, served_meta
from .validation import COMMUNITY_ID

ROLES = ("trigger", "action", "core", "admin", "user")
API_KEY_HEADER = "X-API-Key"
COMMUNITY_HEADER = "X-Community-ID"
GLOBAL_SCOPE = "*"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller behind a valid API key."""

    key_id: str
    name: str
    role: str
    communities: tuple[str, ...]
    module_id: str | None = None
    rate_limit: str | None = None

    @property
    def is_global(self) -> bool:
        return GLOBAL_SCOPE in self.communities

    def may_access(self, community: str) -> bool:
        return self.is_global or community in self.communities


# A guard's extra condition on the caller; it refuses by raising ``errors.Forbidden``.
Check = Callable[[Principal], None]


@dataclass(frozen=True, slots=True)
class Guard:
    roles: frozenset[str] | None  # None: public
    scoped: bool = False
    # X-Community-ID may be sent; when it is, it must lie in scope and narrows the request.
    optional_scope: bool = False
    checks: tuple[Check, ...] = ()  # run in order once the role and community are settled

    @property
    def is_public(self) -> bool:
        return self.roles is None

    def also(self, *checks: Check) -> Guard:
        """This guard with more conditions (e.g. "global admin only", "bound to this module")."""
        if self.is_public:
            raise ValueError("a public route has no caller to check")
        return dataclasses.replace(self, checks=self.checks + checks)


PUBLIC = Guard(roles=None)


class Authenticator(Protocol):
    async def authenticate(self, presented_key: str) -> Principal | None: ...


DenialHook = Callable[[str, str, Principal | None], Awaitable[None]]


class AnonymousGate(Protocol):
    """The limit on callers without a valid key, applied before anything costly.

    ``admit`` runs before the key is looked up and refuses (raising ``errors.RateLimited``),
    without database or audit work, an address known to be over its limit; ``refused`` counts
    a request whose key turned out missing or unknown and may refuse it in turn.
    """

    async def admit(self, address: str) -> None: ...

    async def refused(self, address: str) -> None: ...


def api_key(*roles: str, scoped: bool = False, optional_scope: bool = False) -> Guard:
    """The guard of a route that needs a key with one of ``roles`` (and X-Community-ID if
    scoped)."""
    wanted = frozenset(roles)
    unknown = wanted - set(ROLES)
    if not wanted or unknown:
        raise ValueError(f"a guard needs known roles, got {sorted(wanted)}")
    if scoped and optional_scope:
        raise ValueError("a guard is scoped or optionally scoped, not both")
    return Guard(roles=wanted, scoped=scoped, optional_scope=optional_scope)


def global_scope_only(detail: str, reason: str = "needs a global key") -> Check:
    """A check refusing keys scoped to some communities (what they change serves everyone)."""

    def check(principal: Principal) -> None:
        if not principal.is_global:
            raise errors.Forbidden(detail, reason=reason)

    return check


def public(view: F) -> F:
    """Declare a route open to everyone."""
    return route(guard=PUBLIC)(view)


def require_api_key(
    *roles: str, scoped: bool = False, optional_scope: bool = False
) -> Callable[[F], F]:
    """Declare that a route needs a key with one of ``roles`` (and X-Community-ID if scoped)."""
    return route(guard=api_key(*roles, scoped=scoped, optional_scope=optional_scope))


def guard_blueprint(
    blueprint: Blueprint, *roles: str, scoped: bool = False, optional_scope: bool = False
) -> None:
    """Give every route of ``blueprint`` that declares nothing itself this guard."""
    declare_blueprint_guard(
        blueprint, api_key(*roles, scoped=scoped, optional_scope=optional_scope)
    )


def guard_of(app: Quart, endpoint: str) -> Guard | None:
    return meta_of(app, endpoint).guard


def check_guards(app: Quart) -> None:
    """Refuse to start when a route declares no guard (deny by default)."""
    missing = sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and guard_of(app, rule.endpoint) is None
    )
    if missing:
        raise RuntimeError(f"routes without a declared guard: {', '.join(missing)}")


def current_principal() -> Principal:
    principal: Principal | None = g.get("principal")
    if principal is None:
        raise errors.Unauthorized()
    return principal


def current_community() -> str:
    community: str | None = g.get("community")
    if community is None:
        raise errors.MissingCommunity()
    return community


def install_auth(
    app: Quart,
    authenticator: Authenticator,
    on_denied: DenialHook,
    anonymous: AnonymousGate | None = None,
) -> None:
    """Authenticate, authorise and resolve the community before every guarded route.

    Every refusal is an ``Unauthorized`` or ``Forbidden`` raised with its reason, by the guard
    or by a view alike; ``on_denied`` sees each once, from the app's one error handler.
    """

    async def observe(error: errors.HTTPError) -> None:
        if error.audit_category is None or g.get("deny_reason"):
            return
        g.deny_reason = error.reason
        await on_denied(error.audit_category, error.reason, g.get("principal"))

    observe_errors(app, observe)

    @app.before_request
    async def _authorise() -> None:
        rule = request.url_rule
        if rule is None or request.method == "OPTIONS":
            return
        guard = served_meta(app, rule.endpoint).guard
        if guard is None or guard.is_public:
            return
        presented = request.headers.get(API_KEY_HEADER, "")
        address = request.remote_addr or "-"
        if anonymous is not None:
            await anonymous.admit(address)
        principal = await authenticator.authenticate(presented) if presented else None
        if principal is None:
            if anonymous is not None:
                await anonymous.refused(address)
            raise errors.Unauthorized(reason="missing key" if not presented else "invalid key")
        g.principal = principal
        bind(user=f"key:{principal.key_id}")
        assert guard.roles is not None
        if principal.role not in guard.roles:
            raise errors.Forbidden(reason=f"role {principal.role} not allowed")
        if guard.scoped or (guard.optional_scope and request.headers.get(COMMUNITY_HEADER)):
            _resolve_community(principal)
        for check in guard.checks:
            check(principal)


def current_community_or_none() -> str | None:
    """The resolved community of an optionally scoped request, None when none was sent."""
    community: str | None = g.get("community")
    return community


def _resolve_community(principal: Principal) -> None:
    community = request.headers.get(COMMUNITY_HEADER)
    if community is None or community == "":
        raise errors.MissingCommunity()
    if not COMMUNITY_ID.match(community):
        raise errors.BadRequest("X-Community-ID must match ^[A-Za-z0-9_-]{1,64}$.")
    bind(community=community)
    if not principal.may_access(community):
        raise errors.Forbidden(reason="community outside the key's scope")
    g.community = community
