"""The assembly opens every service and closes all of them, also after a failure half-way."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import asyncpg
import pytest

from router.assembly import assemble
from router.settings import RouterSettings
from tests.support.waiting import eventually

SERVICE_TASKS = ("audit.", "keys.", "registry.", "events.")


def _service_tasks() -> set[str]:
    names = {task.get_name() for task in asyncio.all_tasks()}
    return {name for name in names if name.startswith(SERVICE_TASKS)}


async def _other_connections(database_url: str) -> int:
    """Sessions on the test database besides this probe's own."""
    probe = await asyncpg.connect(database_url)
    try:
        count: int = await probe.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return count
    finally:
        await probe.close()


async def _no_connections_left(database_url: str) -> bool:
    # The server notices a closed client connection a moment after the client closes it.
    async def none_left() -> bool:
        return await _other_connections(database_url) == 0

    return await eventually(none_left, timeout=5.0, interval=0.05)


async def test_everything_opened_is_closed_on_exit(settings: RouterSettings) -> None:
    assert settings.database_url is not None
    async with assemble(settings) as router:
        assert await router.dal.ping()
        running = _service_tasks()
        assert {"audit.writer", "keys.invalidation-listener", "events.delivery"} <= running
        assert {"registry.prober", "events.spool"} <= running
        assert await _other_connections(settings.database_url) >= 1
    assert _service_tasks() == set()
    assert await _no_connections_left(settings.database_url)


async def test_a_failure_half_way_closes_what_was_opened(
    settings: RouterSettings, tmp_path: Path
) -> None:
    assert settings.database_url is not None
    # The signing key is loaded after the stores, the audit trail and the keys are running.
    broken = replace(settings, signing_key_file=tmp_path / "missing.pem")
    with pytest.raises(OSError):
        async with assemble(broken):
            pytest.fail("the assembly must not yield without its signing key")
    assert _service_tasks() == set()
    assert await _no_connections_left(settings.database_url)
