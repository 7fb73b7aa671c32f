"""Authentication as a backend, roles as declarative guards, the community resolved once.

Every route declares a guard: ``@public`` or ``@require_api_key(*roles, scoped=...)`` on the
view, or ``guard_blueprint(bp, ...)`` for a whole blueprint. ``check_guards`` refuses to start an
app with an unguarded route, so nothing is open by accident.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from quart import Blueprint, Quart, g, request

from . import errors
from .logging import bind
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


@dataclass(frozen=True, slots=True)
class Guard:
    roles: frozenset[str] | None  # None: public
    scoped: bool = False
    # X-Community-ID may be sent; when it is, it must lie in scope and narrows the request.
    optional_scope: bool = False

    @property
    def is_public(self) -> bool:
        return self.roles is None


PUBLIC = Guard(roles=None)


class Authenticator(Protocol):
    async def authenticate(self, presented_key: str) -> Principal | None: ...


DenialHook = Callable[[str, str, Principal | None], Awaitable[None]]


def _make_guard(roles: Iterable[str], scoped: bool, optional_scope: bool = False) -> Guard:
    wanted = frozenset(roles)
    unknown = wanted - set(ROLES)
    if not wanted or unknown:
        raise ValueError(f"a guard needs known roles, got {sorted(wanted)}")
    if scoped and optional_scope:
        raise ValueError("a guard is scoped or optionally scoped, not both")
    return Guard(roles=wanted, scoped=scoped, optional_scope=optional_scope)


def public(view: F) -> F:
    """Declare a route open to everyone."""
    view.__guard__ = PUBLIC  # type: ignore[attr-defined]
    return view


def require_api_key(
    *roles: str, scoped: bool = False, optional_scope: bool = False
) -> Callable[[F], F]:
    """Declare that a route needs a key with one of ``roles`` (and X-Community-ID if scoped)."""
    guard = _make_guard(roles, scoped, optional_scope)

    def decorate(view: F) -> F:
        view.__guard__ = guard  # type: ignore[attr-defined]
        return view

    return decorate


def guard_blueprint(
    blueprint: Blueprint, *roles: str, scoped: bool = False, optional_scope: bool = False
) -> None:
    """Give every route of ``blueprint`` that declares nothing itself this guard."""
    blueprint.default_guard = _make_guard(  # type: ignore[attr-defined]
        roles, scoped, optional_scope
    )


def guard_of(app: Quart, endpoint: str) -> Guard | None:
    view = app.view_functions.get(endpoint)
    guard = getattr(view, "__guard__", None)
    if guard is not None:
        return guard
    blueprint_name = endpoint.rpartition(".")[0]
    blueprint = app.blueprints.get(blueprint_name) if blueprint_name else None
    return getattr(blueprint, "default_guard", None)


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


def install_auth(app: Quart, authenticator: Authenticator, on_denied: DenialHook) -> None:
    """Authenticate, authorise and resolve the community before every guarded route."""

    async def deny(category: str, reason: str, principal: Principal | None) -> None:
        g.deny_reason = reason
        await on_denied(category, reason, principal)

    @app.before_request
    async def _authorise() -> None:
        rule = request.url_rule
        if rule is None or request.method == "OPTIONS":
            return
        guard = guard_of(app, rule.endpoint)
        if guard is None or guard.is_public:
            return
        presented = request.headers.get(API_KEY_HEADER, "")
        principal = await authenticator.authenticate(presented) if presented else None
        if principal is None:
            await deny("AUTH", "missing key" if not presented else "invalid key", None)
            raise errors.Unauthorized()
        g.principal = principal
        bind(user=f"key:{principal.key_id}")
        assert guard.roles is not None
        if principal.role not in guard.roles:
            await deny("AUTHZ", f"role {principal.role} not allowed", principal)
            raise errors.Forbidden()
        if guard.scoped or (guard.optional_scope and request.headers.get(COMMUNITY_HEADER)):
            await _resolve_community(principal, deny)


def current_community_or_none() -> str | None:
    """The resolved community of an optionally scoped request, None when none was sent."""
    community: str | None = g.get("community")
    return community


async def _resolve_community(principal: Principal, deny: DenialHook) -> None:
    community = request.headers.get(COMMUNITY_HEADER)
    if community is None or community == "":
        raise errors.MissingCommunity()
    if not COMMUNITY_ID.match(community):
        raise errors.BadRequest("X-Community-ID must match ^[A-Za-z0-9_-]{1,64}$.")
    bind(community=community)
    if not principal.may_access(community):
        await deny("AUTHZ", "community outside the key's scope", principal)
        raise errors.Forbidden()
    g.community = community
