"""The router's quotas and the request hook that applies them after authentication."""

from __future__ import annotations

import functools
from typing import Any

from quart import Quart, Response, g, has_request_context, request

from flask_core.auth import Principal, current_principal
from flask_core.keyspace import community_tag, tag
from flask_core.ratelimit import Decision, JoinedStep, Quota, Rate, RateLimiter
from flask_core.routes import LimitMode, served_meta
from flask_core.slots import ServiceSlot

from .anonymous import AnonymousLimit

# A key's own limit is text on its record: parsed once per distinct text, not per request.
_parsed_rate = functools.lru_cache(maxsize=1024)(Rate.parse)


class RouterLimits:
    """Quotas per API key, per community and per (community, user)."""

    def __init__(
        self,
        limiter: RateLimiter,
        *,
        key: Rate,
        community: Rate,
        user: Rate,
        anonymous: Rate | None = None,
    ) -> None:
        self.limiter = limiter
        # Callers without a valid key, per client address (checked by the auth hook).
        self.anonymous = AnonymousLimit(limiter, anonymous or Rate.parse("120/minute"))
        self._key_default = key  # a key's own rate_limit replaces it
        self._community = community
        self._user = user

    def _key_quota(self, key_id: str, own_limit: str | None) -> Quota:
        rate = _parsed_rate(own_limit) if own_limit else self._key_default
        return Quota("key", f"key:{tag('k', key_id)}:{rate.limit}/{rate.window_seconds}", rate)

    def _community_quota(self, community: str) -> Quota:
        return Quota("community", f"community:{community_tag(community)}", self._community)

    def _user_quota(self, community: str, user_id: str) -> Quota:
        return Quota("user", f"user:{community_tag(community)}:{user_id}", self._user)

    def _caller_quotas(
        self, principal: Principal, community: str | None, user_id: str | None
    ) -> list[Quota]:
        quotas = [self._key_quota(principal.key_id, principal.rate_limit)]
        if community is not None:
            quotas.append(self._community_quota(community))
            if user_id is not None:
                quotas.append(self._user_quota(community, user_id))
        return quotas

    async def check_caller(
        self, principal: Principal, community: str | None, user_id: str | None = None
    ) -> Decision:
        """Count one request of ``principal`` (in ``community``, for ``user_id``); 429 if over."""
        return self._keep(
            await self.limiter.hit(self._caller_quotas(principal, community, user_id))
        )

    async def admit(
        self,
        principal: Principal,
        community: str,
        user_id: str | None,
        joined: JoinedStep | None,
    ) -> Any:
        """``check_caller`` with ``joined`` run in the decision's last step (see ``JoinedStep``).

        Raises RateLimited (429) when over; else returns the joined work's result, None when
        it did not run (Redis bypassed: the quotas were counted in this process).
        """
        quotas = self._caller_quotas(principal, community, user_id)
        decision, result = await self.limiter.hit_joined(quotas, joined)
        self._keep(decision)
        return result

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


LIMITS = ServiceSlot[RouterLimits]("router.limits")


def install_rate_limits(app: Quart) -> None:
    """Limit every authenticated route; install after ``install_auth`` (hooks run in order).

    A route declared with ``limits=LimitMode.VIEW`` applies the quotas itself.
    """

    @app.before_request
    async def _limit() -> None:
        if g.get("principal") is None:  # public route, or refused before
            return
        rule = request.url_rule
        if rule is None:
            return
        meta = served_meta(app, rule.endpoint)
        if meta.guard is None or meta.guard.is_public or meta.limits is LimitMode.VIEW:
            return
        await LIMITS.get().check_caller(current_principal(), g.get("community"))

    @app.after_request
    async def _headers(response: Response) -> Response:
        decision: Decision | None = g.get("rate_limit")
        if decision is not None:
            for name, value in decision.headers().items():
                response.headers.setdefault(name, value)
        return response
