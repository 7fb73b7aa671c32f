"""Waiting for the background audit writer in tests."""

from __future__ import annotations

import asyncio

from router.state import RouterState


async def wait_for_records(state: RouterState, count: int, timeout: float = 5.0) -> int:
    """Poll the audit table until it holds ``count`` rows (or time runs out); return the count."""
    deadline = asyncio.get_running_loop().time() + timeout
    found = 0
    while asyncio.get_running_loop().time() < deadline:
        found = int(await state.dal.fetchval("SELECT count(*) FROM audit_log"))
        if found >= count:
            return found
        await asyncio.sleep(0.02)
    return found
