"""Unauthenticated floods cannot grow the audit trail (SPEC §10, ``ROUTER_RATE_LIMIT_ANONYMOUS``).

The attack: thousands of requests with a bogus key. Before, each wrote an AUTH row; now the
anonymous limit refuses an address over it before any lookup, and repeated failures of one
address and key prefix are folded into one record whose counts add up.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

from quart import Quart

from router.app import create_app
from router.audit.folding import AuthFailureFolding
from router.settings import RouterSettings
from router.state import RouterState
from tests.support.stores import ALL_REDIS_MODES
from tests.support.waiting import allow_strays, eventually

# The folding counters run a two-key script: it must stay in one slot on a cluster.
pytestmark = ALL_REDIS_MODES

BOGUS = "rh_0123456789ab_" + "S" * 43
FLOOD = 3000


async def _flood(app: Quart, count: int, key: str = BOGUS) -> dict[int, int]:
    client = app.test_client()
    statuses: dict[int, int] = {}
    for _ in range(count):
        response = await client.get("/api/v1/modules", headers={"X-API-Key": key})
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if response.status_code == 429:
            assert response.headers["Retry-After"]
            assert '"anonymous";q=120;w=60' in response.headers["RateLimit-Policy"]
    return statuses


async def _auth_rows(state: RouterState, wanted: int) -> list[Any]:
    """The AUTH rows once ``wanted`` are written, plus a moment for any stray extra one."""
    rows: list[Any] = []

    async def written() -> bool:
        rows[:] = await state.dal.fetch(
            "SELECT action, result, details FROM audit_log WHERE category = 'AUTH' ORDER BY id"
        )
        return len(rows) >= wanted and state.audit.backlog == 0

    await eventually(written)
    await allow_strays(0.2)
    return list(
        await state.dal.fetch(
            "SELECT action, result, details FROM audit_log WHERE category = 'AUTH' ORDER BY id"
        )
    )


async def _summarise_as_if_later(state: RouterState) -> None:
    """Close the current window as a process would three minutes from now."""
    later = AuthFailureFolding(state.redis, state.audit, clock=lambda: time.time() + 180)
    await later.summarise_closed()


def _count(rows: list[Any]) -> int:
    return sum(json.loads(row["details"])["count"] for row in rows)


async def test_a_bad_key_flood_is_limited_and_leaves_one_record(app: Quart) -> None:
    statuses = await _flood(app, FLOOD)
    assert statuses == {401: 120, 429: FLOOD - 120}
    state: RouterState = app.extensions["router"]
    rows = await _auth_rows(state, 1)
    # One record per window: two when the flood straddles the turn of a minute.
    assert 1 <= len(rows) <= 2 and {row["result"] for row in rows} == {"denied"}
    await _summarise_as_if_later(state)
    rows = await _auth_rows(state, 2)
    assert "auth.failures" in [row["action"] for row in rows] and len(rows) <= 4
    assert _count(rows) == 120  # every 401, counted once


async def test_without_the_limit_the_folded_counts_add_up(settings: RouterSettings) -> None:
    app = create_app(replace(settings, rate_limit_anonymous="100000/minute"))
    async with app.test_app():
        statuses = await _flood(app, FLOOD)
        other_key = await _flood(app, 3, key="rh_ba9876543210_" + "T" * 43)
        no_key = await _flood(app, 2, key="")
        assert statuses == {401: FLOOD} and other_key == {401: 3} and no_key == {401: 2}
        state: RouterState = app.extensions["router"]
        # One per (address, key prefix) and window (a flood may straddle a minute's turn).
        assert 3 <= len(await _auth_rows(state, 3)) <= 6
        await _summarise_as_if_later(state)
        rows = await _auth_rows(state, 6)
        assert 6 <= len(rows) <= 12  # and a summary for each pair that failed more than once
        assert _count(rows) == FLOOD + 3 + 2
        prefixes = {row["details"] for row in rows}
        assert all(BOGUS not in text and "S" * 43 not in text for text in prefixes)
