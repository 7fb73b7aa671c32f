"""schemathesis against the router's ``/openapi.json``, for every role (SPEC §2, §3).

Every operation is fuzzed with a bounded number of generated requests per role (no key, user,
trigger, action, core, a community-scoped admin and a global admin) and every response is
held to all of schemathesis' checks: no server error, the declared status codes, content
types, headers and response schemas. The router runs as a real process on loopback.
"""

from __future__ import annotations

import asyncio
import secrets
import traceback
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.settings import RouterSettings
from tests.support.processes import router_process

EXAMPLES = 8  # per operation and role: about 1,600 requests in all
# Every check runs but "a schema-valid request is accepted": the contract has rules a JSON
# Schema cannot state (cross-field rules, names that must exist, scopes), so a 400 for a
# schema-valid body can be right. Nothing here relaxes the response checks.
EXCLUDED = [schemathesis.checks.positive_data_acceptance]
COMMUNITY = "c1"
ROLES: dict[str, dict[str, Any] | None] = {
    "no key": None,
    "user": {"role": "user", "communities": [COMMUNITY]},
    "trigger": {"role": "trigger", "communities": [COMMUNITY], "module_id": "twitch"},
    "action": {"role": "action", "communities": [COMMUNITY], "module_id": "quotes"},
    "core": {"role": "core", "communities": ["*"]},
    "scoped admin": {"role": "admin", "communities": [COMMUNITY]},
    "admin": None,  # the bootstrap key
}


async def _keys(base_url: str, bootstrap: str) -> dict[str, str | None]:
    keys: dict[str, str | None] = {"no key": None, "admin": bootstrap}
    async with httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": bootstrap}) as http:
        created = await http.post("/api/v1/admin/communities", json={"id": COMMUNITY, "name": "C"})
        assert created.status_code == 201
        for label, spec in ROLES.items():
            if spec is None:
                continue
            response = await http.post("/api/v1/admin/keys", json={"name": label, **spec})
            assert response.status_code == 201, response.text
            keys[label] = response.json()["key"]
    return keys


def _examples(
    operation: Any, base_url: str, key: str | None, statuses: Counter[int]
) -> Callable[[], None]:
    """A hypothesis test sending ``EXAMPLES`` generated requests of ``operation`` with ``key``."""
    headers = {"X-API-Key": key} if key else {}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(), community=st.sampled_from([COMMUNITY, "c2"]))
    def run(case: Any, community: str) -> None:
        case.headers = {**(case.headers or {}), **headers}
        if "X-Community-ID" in case.headers:  # in scope or not, rather than random
            case.headers["X-Community-ID"] = community
        response = case.call_and_validate(base_url=base_url, excluded_checks=EXCLUDED)
        statuses[response.status_code] += 1

    return run


def _fuzz(base_url: str, keys: dict[str, str | None]) -> tuple[list[str], Counter[int]]:
    """Run every operation for every role; the failures, described, and the statuses seen."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        for role, key in keys.items():
            try:
                _examples(operation, base_url, key, statuses)()
            except (Exception, BaseExceptionGroup):  # failed checks: collect all, then report
                failures.append(f"{operation.label} as {role}:\n{traceback.format_exc(limit=3)}")
    return failures, statuses


async def test_every_route_and_role_passes_every_check(settings: RouterSettings) -> None:
    bootstrap = "rh_" + secrets.token_hex(6) + "_" + secrets.token_urlsafe(32)
    env = {
        "ROUTER_BOOTSTRAP_ADMIN_KEY": bootstrap,
        # The fuzzer is one client sending fast: limits would only turn checks into 429s.
        "ROUTER_RATE_LIMIT_KEY": "100000/minute",
        "ROUTER_RATE_LIMIT_ANONYMOUS": "100000/minute",
        "ROUTER_RATE_LIMIT_COMMUNITY": "100000/minute",
        "ROUTER_RATE_LIMIT_USER": "100000/minute",
    }
    async with router_process(settings, workers=1, extra_env=env) as base_url:
        keys = await _keys(base_url, bootstrap)
        failures, statuses = await asyncio.to_thread(_fuzz, base_url, keys)
    assert not failures, "\n".join(failures)
    # The run reached the routes themselves, not only their guards.
    assert sum(n for status, n in statuses.items() if status < 300) >= 100, statuses
