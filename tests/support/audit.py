"""Waiting for the background audit writer in tests."""

from __future__ import annotations

from router.state import RouterState

from .waiting import eventually


async def wait_for_records(state: RouterState, count: int, timeout: float = 5.0) -> int:
    """Poll the audit table until it holds ``count`` rows (or time runs out); return the count.

    The count is returned rather than raised on, so the test's assertion shows what was found.
    """
    found = 0

    async def enough() -> bool:
        nonlocal found
        found = int(await state.dal.fetchval("SELECT count(*) FROM audit_log"))
        return found >= count

    await eventually(enough, timeout)
    return found
