"""The reduced outage drill CI runs: Redis down under a lighter load, nothing lost.

The same harness as ``make drills`` (its own redis-server with AOF, the router as a real process
with 2 workers, the drill module), on the session's PostgreSQL, at 30 req/s for 12 s with Redis
stopped for 4 s.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.stores import Stores

from .runner import run_drill
from .scenarios import DRILLS

pytestmark = pytest.mark.slow

REDUCED_RATE = 30.0
REDUCED_SCALE = 0.4  # 30 s of load become 12 s, the 10 s outage 4 s


async def test_redis_outage_under_load_loses_no_event_and_no_audit_record(
    stores: Stores, tmp_path: Path
) -> None:
    drill = next(d for d in DRILLS if d.name == "redis")
    row = await run_drill(
        drill,
        tmp_path / "drill",
        stores.admin_database_url,
        None,
        rate=REDUCED_RATE,
        scale=REDUCED_SCALE,
    )
    assert row.accepted > 100 and row.audit_expected > 20, row.notes  # the load really ran
    assert row.lost == 0, row.notes
    assert row.audit_found == row.audit_expected, row.notes
    assert row.chain.startswith("ok"), row.chain
