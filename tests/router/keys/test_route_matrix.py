"""SPEC §3 enforced on every route, role and {own community, other community, no header}.

The table lists every route of the contract. Rows whose route is not in the app yet are left
out at collection (not skipped), so the matrix grows by itself as routes land; admin routes the
table does not know are added automatically with the generic admin expectation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule

from router.app import create_app
from router.communities.store import CommunityStore
from router.keys.models import NewKey
from router.settings import RouterSettings
from router.state import RouterState
from tests.support.keys import KeyFactory
from tests.support.waiting import eventually

OWN, OTHER = "own1", "zzother"  # OTHER is also the leak marker: it must never reach a stranger
REGISTRY = ("trigger", "action", "core", "admin")
ALL_ROLES = ("trigger", "action", "core", "admin", "user")
OTHER_KEY_ID = "00000000-0000-4000-8000-00000000000f"


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # {other_key} is filled with the id of a key of the other community
    roles: tuple[str, ...]
    kind: str  # open | registry | scoped | narrowing | global_only | global_key | admin


TABLE = (
    Row("POST", "/api/v1/register", REGISTRY, "registry"),
    Row("POST", "/api/v1/modules/quotes/instances/i1/heartbeat", REGISTRY, "registry"),
    Row("DELETE", "/api/v1/modules/quotes/instances/i1", REGISTRY, "registry"),
    Row("GET", "/api/v1/modules", ("core", "admin"), "open"),
    Row("GET", "/api/v1/modules/quotes", ("core", "admin"), "open"),
    Row("POST", "/api/v1/events", ("trigger", "core"), "scoped"),
    Row("POST", "/api/v1/events/batch", ("trigger", "core"), "scoped"),
    Row("POST", "/api/v1/action/quote.random", ALL_ROLES, "scoped"),
    Row("POST", "/api/v1/responses", ("action", "core"), "scoped"),
    Row(
        "GET",
        f"/api/v1/communities/resolve?platform=twitch&channel_id=chan-{OTHER}",
        ("trigger", "core", "admin"),
        "open",
    ),
    Row("POST", "/api/v1/admin/keys", ("admin",), "narrowing"),
    Row("GET", "/api/v1/admin/keys", ("admin",), "narrowing"),
    Row("GET", "/api/v1/admin/keys/{other_key}", ("admin",), "narrowing"),
    Row("POST", "/api/v1/admin/keys/{other_key}/rotate", ("admin",), "narrowing"),
    Row("DELETE", "/api/v1/admin/keys/{other_key}", ("admin",), "narrowing"),
    Row("POST", "/api/v1/admin/communities", ("admin",), "narrowing"),
    Row("GET", "/api/v1/admin/communities", ("admin",), "narrowing"),
    Row("POST", f"/api/v1/admin/communities/{OTHER}/channels", ("admin",), "narrowing"),
    Row("GET", "/api/v1/admin/audit", ("admin",), "narrowing"),
    Row("GET", "/api/v1/admin/audit/export", ("admin",), "narrowing"),
    Row("GET", "/api/v1/admin/audit/verify", ("admin",), "global_only"),
    Row("GET", "/api/v1/admin/deadletters", ("admin",), "admin"),
    Row(
        "POST",
        "/api/v1/admin/modules/quotes/instances/i1/breaker/reset",
        ("admin",),
        "global_key",
    ),
)
_PARAM = re.compile(r"<(?:[a-z_]+:)?([a-zA-Z_]+)>")


def _route_app() -> Quart:
    return create_app(RouterSettings())


def _rule_of(app: Quart, row: Row) -> Rule | None:
    adapter = app.url_map.bind("localhost")
    path = row.path.format(other_key=OTHER_KEY_ID).partition("?")[0]
    try:
        rule, _ = adapter.match(path, row.method, return_rule=True)
    except HTTPException:
        return None
    return rule


def _collect() -> list[Row]:
    app = _route_app()
    rows = [row for row in TABLE if _rule_of(app, row) is not None]
    known = {_rule_of(app, row).rule for row in rows}  # type: ignore[union-attr]
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/admin/") and rule.rule not in known:
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                rows.append(Row(method, _PARAM.sub("x", rule.rule), ("admin",), "admin"))
    return rows


ROWS = _collect()


def test_the_matrix_covers_at_least_every_keys_communities_and_audit_route() -> None:
    covered = {(row.method, row.path.partition("?")[0]) for row in ROWS}
    mine = {(r.method, r.path.partition("?")[0]) for r in TABLE if r.kind != "open"}
    mine |= {("GET", "/api/v1/communities/resolve")}
    assert {m for m in mine if "admin/keys" in m[1] or "communities" in m[1]} <= covered
    assert {m for m in mine if "admin/audit" in m[1]} <= covered


@dataclass(frozen=True)
class Caller:
    label: str
    role: str | None  # None: no key at all
    communities: tuple[str, ...] = (OWN,)
    module_id: str | None = None  # the module the key is bound to

    @property
    def is_global(self) -> bool:
        return self.communities == ("*",)


CALLERS = (
    Caller("anonymous", None),
    *(Caller(role, role) for role in ALL_ROLES),
    Caller("global-admin", "admin", ("*",)),
    Caller("bound-action", "action", module_id="quotes"),
)
HEADERS = {"own": OWN, "other": OTHER, "none": None}


def expected(row: Row, caller: Caller, header: str | None) -> str:
    """``pass``, ``401``, ``403`` or ``400`` (missing community) per SPEC §2-§3."""
    if caller.role is None:
        return "401"
    if caller.role not in row.roles:
        return "403"
    in_scope = caller.is_global or header in (None, OWN)
    if row.kind == "scoped":
        if header is None:
            return "400"
        return "pass" if caller.is_global or header == OWN else "403"
    if row.kind == "narrowing":
        return "pass" if in_scope else "403"
    if row.kind == "global_only":
        return "pass" if caller.is_global and header is None else "403"
    if row.kind == "global_key":
        return "pass" if caller.is_global else "403"
    if row.kind == "registry":  # the global registry: a key bound to quotes, or a global admin
        bound = caller.module_id == "quotes" and caller.role != "admin"
        return "pass" if bound or (caller.role == "admin" and caller.is_global) else "403"
    if row.kind == "admin":
        return "admin"  # another workstream's admin route: a 403 must be audited, no leak
    return "pass"


async def _seed(state: RouterState) -> None:
    communities = CommunityStore(state.dal)
    for community in (OWN, OTHER):
        await communities.create(community, f"name-{community}")
        await communities.add_channel(community, "twitch", f"chan-{community}")
    key, _ = await state.keys.create(NewKey(name=f"key-{OTHER}", role="core", communities=(OTHER,)))
    await state.dal.execute(
        "UPDATE api_keys SET id = $1::uuid WHERE id = $2::uuid", OTHER_KEY_ID, key.id
    )
    state.audit.record("AUDIT", f"seed-{OTHER}", "ok", community=OTHER)


async def _audit_rows(state: RouterState, wanted: int) -> list[Any]:
    """The AUTH/AUTHZ rows once ``wanted`` are written (or what is there after 5 s)."""
    rows: list[Any] = []

    async def written() -> bool:
        rows[:] = await state.dal.fetch(
            'SELECT category, "user", community, action FROM audit_log'
            " WHERE category IN ('AUTH', 'AUTHZ')"
        )
        return len(rows) >= wanted and state.audit.backlog == 0

    await eventually(written, timeout=5.0)
    return rows


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.method} {r.path}" for r in ROWS])
async def test_route_matrix(
    row: Row, app: Quart, client: TestClientProtocol, api_key: KeyFactory
) -> None:
    state: RouterState = app.extensions["router"]
    await _seed(state)
    keys: dict[str, tuple[str, str]] = {}
    for caller in CALLERS:
        if caller.role is not None:
            plaintext = await api_key(
                caller.role, communities=list(caller.communities), module_id=caller.module_id
            )
            principal = await state.keys.authenticator.authenticate(plaintext)
            assert principal is not None
            keys[caller.label] = (plaintext, principal.key_id)
    rule = _rule_of(app, row)
    assert rule is not None
    action = f"{row.method} {rule.rule}"
    path = row.path.format(other_key=OTHER_KEY_ID)
    denials: list[tuple[str, str | None, str | None]] = []
    failures: list[str] = []
    for caller in CALLERS:
        for label, community in HEADERS.items():
            headers = {"X-Request-ID": f"matrix-{caller.label}-{label}"}
            if caller.role is not None:
                headers["X-API-Key"] = keys[caller.label][0]
            if community is not None:
                headers["X-Community-ID"] = community
            body = {} if row.method in ("POST", "PUT", "PATCH") else None
            response = await client.open(path, method=row.method, headers=headers, json=body)
            text = (await response.get_data()).decode("utf-8", "replace")
            status, want = response.status_code, expected(row, caller, community)
            problem = f"{caller.label}/{label}: want {want}, got {status} {text[:200]}"
            user = f"key:{keys[caller.label][1]}" if caller.role else None
            if want == "401":
                ok = status == 401
                # Repeated failures of one address without a key are folded into the first
                # failure's record (SPEC §10).
                if not any(category == "AUTH" for category, _, _ in denials):
                    denials.append(("AUTH", None, community))
            elif want == "403":
                ok = status == 403
                denials.append(("AUTHZ", user, community))
            elif want == "400":
                ok = status == 400 and '"missing_community"' in text
            else:
                ok = status not in (401, 500) and not (
                    status == 400 and "missing_community" in text
                )
                if want == "pass":
                    ok = ok and status != 403
                elif status == 403:
                    denials.append(("AUTHZ", user, community))
            narrowed_to_own = caller.is_global and community == OWN and row.kind == "narrowing"
            if (not caller.is_global or narrowed_to_own) and OTHER in text:
                ok, problem = False, f"{caller.label}/{label}: leaked {OTHER}: {text[:300]}"
            if not ok:
                failures.append(problem)
    assert not failures, "\n".join(failures)
    recorded = await _audit_rows(state, len(denials))
    seen = [(r["category"], r["user"], r["community"]) for r in recorded if r["action"] == action]
    for denial in denials:
        assert denial in seen, f"no audit record for denial {denial} of {action}"
