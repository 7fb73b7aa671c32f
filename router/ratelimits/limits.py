"""The router's quotas and the request hook that applies them after authentication."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from quart import Quart, Response, g, has_request_context, request

from flask_core.auth import Principal, current_principal, guard_of
from flask_core.ratelimit import Decision, Quota, Rate, RateLimiter

from ..settings import RouterSettings

F = TypeVar("F", bound=Callable[..., Any])


def limited_in_view(view: F) -> F:
    """Mark a view that applies the caller's quotas itself, with the user its body names.

    One Redis call then decides the key, community and user quotas together.
    """
    view.__limited_in_view__ = True  # type: ignore[attr-defined]
    return view


class RouterLimits:
    """Quotas per API key, per community and per (community, user), from the settings."""

    def __init__(self, limiter: RateLimiter, settings: RouterSettings) -> None:
        self.limiter = limiter
        self._key_default = Rate.parse(settings.rate_limit_key)
        self._community = Rate.parse(settings.rate_limit_community)
        self._user = Rate.parse(settings.rate_limit_user)

    def _key_quota(self, key_id: str, own_limit: str | None) -> Quota:
        rate = Rate.parse(own_limit) if own_limit else self._key_default
        return Quota("key", f"key:{key_id}:{rate.limit}/{rate.window_seconds}", rate)

    def _community_quota(self, community: str) -> Quota:
        return Quota("community", f"community:{community}", self._community)

    def _user_quota(self, community: str, user_id: str) -> Quota:
        return Quota("user", f"user:{community}:{user_id}", self._user)

    async def check_caller(
        self, principal: Principal, community: str | None, user_id: str | None = None
    ) -> Decision:
        """Count one request of ``principal`` (in ``community``, for ``user_id``); 429 if over."""
        quotas = [self._key_quota(principal.key_id, principal.rate_limit)]
        if community is not None:
            quotas.append(self._community_quota(community))
            if user_id is not None:
                quotas.append(self._user_quota(community, user_id))
        return self._keep(await self.limiter.hit(quotas))

    async def check_user(self, community: str, user_id: str) -> Decision:
        """Count one call of ``user_id`` in ``community``; raise RateLimited (429) when over."""
        return self._keep(await self.limiter.hit([self._user_quota(community, user_id)]))

    @staticmethod
    def _keep(decision: Decision) -> Decision:
        """Remember the decision for the response headers, then refuse if it says so."""
        if has_request_context():
            previous: Decision | None = g.get("rate_limit")
            g.rate_limit = previous.merged(decision) if previous else decision
        decision.raise_if_denied()
        return decision


def install_rate_limits(app: Quart, limits: Callable[[], RouterLimits]) -> None:
    """Limit every authenticated route; install after ``install_auth`` (hooks run in order)."""

    @app.before_request
    async def _limit() -> None:
        rule = request.url_rule
        guard = guard_of(app, rule.endpoint) if rule is not None else None
        if guard is None or guard.is_public or g.get("principal") is None:
            return
        assert rule is not None
        if getattr(app.view_functions.get(rule.endpoint), "__limited_in_view__", False):
            return
        await limits().check_caller(current_principal(), g.get("community"))

    @app.after_request
    async def _headers(response: Response) -> Response:
        decision: Decision | None = g.get("rate_limit")
        if decision is not None:
            for name, value in decision.headers().items():
                response.headers.setdefault(name, value)
        return response
