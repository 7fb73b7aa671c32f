"""Two router instances on the same PostgreSQL and Redis, as two replicas would be."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from quart import Quart

from router.app import create_app
from router.audit.store import AuditStore
from router.settings import RouterSettings
from router.state import RouterState
from tests.support.audit import wait_for_records
from tests.support.keys import KeyFactory
from tests.support.stores import ALL_REDIS_MODES
from tests.support.waiting import eventually, let_time_pass

pytestmark = ALL_REDIS_MODES

RESOLVE = "/api/v1/communities/resolve?platform=twitch&channel_id=1"


@pytest.fixture
async def replicas(settings: RouterSettings) -> AsyncIterator[tuple[Quart, Quart]]:
    async with AsyncExitStack() as stack:
        apps = [create_app(settings), create_app(settings)]
        for application in apps:
            await stack.enter_async_context(application.test_app())
        yield apps[0], apps[1]


def _state(app: Quart) -> RouterState:
    state: RouterState = app.extensions["router"]
    return state


async def _admin_and_core_key(app: Quart, api_key: KeyFactory) -> tuple[str, str, str]:
    """An admin key, and a core key (plaintext and id) to act on, minted on ``app``."""
    admin = await api_key("admin", app=app)
    plaintext = await api_key("core", app=app)
    key_id = (await _state(app).keys.store.list(None))[-1].id
    return admin, plaintext, str(key_id)


async def _statuses_until_refused(app: Quart, key: str, seconds: float = 1.0) -> list[int]:
    """What ``app`` answers for ``key``, asked until the first 401 or for ``seconds``."""
    client = app.test_client()
    statuses: list[int] = []

    async def refused() -> bool:
        statuses.append((await client.get(RESOLVE, headers={"X-API-Key": key})).status_code)
        return statuses[-1] == 401

    await eventually(refused, timeout=seconds, interval=0.01)
    return statuses


async def test_revocation_on_one_replica_is_enforced_by_the_other(
    replicas: tuple[Quart, Quart], api_key: KeyFactory
) -> None:
    first, second = replicas
    admin, victim, victim_id = await _admin_and_core_key(first, api_key)
    other = second.test_client()
    assert (await other.get(RESOLVE, headers={"X-API-Key": victim})).status_code == 404  # cached
    revoked = await first.test_client().delete(
        f"/api/v1/admin/keys/{victim_id}", headers={"X-API-Key": admin}
    )
    assert revoked.status_code == 204
    statuses = await _statuses_until_refused(second, victim)
    assert statuses[-1] == 401, statuses
    assert set(statuses) <= {404, 401}


async def test_a_lost_invalidation_cannot_outlive_the_cache_bound(
    replicas: tuple[Quart, Quart], api_key: KeyFactory
) -> None:
    first, second = replicas
    victim = await api_key("core", app=first)
    authenticator = _state(second).keys.authenticator
    authenticator.ttl = 1.0  # the largest bound allowed
    assert await authenticator.authenticate(victim) is not None
    # Revoked behind the service's back: no pub/sub message is ever sent.
    await _state(first).dal.execute("UPDATE api_keys SET revoked_at = now()")
    await let_time_pass(1.0)  # the cached entry's 1 s bound runs out
    assert await authenticator.authenticate(victim) is None


async def test_rotation_on_one_replica_is_seen_by_the_other(
    replicas: tuple[Quart, Quart], api_key: KeyFactory
) -> None:
    first, second = replicas
    admin, old, old_id = await _admin_and_core_key(first, api_key)
    rotated = await first.test_client().post(
        f"/api/v1/admin/keys/{old_id}/rotate",
        json={"grace_seconds": 0},
        headers={"X-API-Key": admin},
    )
    new = (await rotated.get_json())["key"]
    other = second.test_client()
    await _statuses_until_refused(second, old)
    assert (await other.get(RESOLVE, headers={"X-API-Key": old})).status_code == 401
    assert (await other.get(RESOLVE, headers={"X-API-Key": new})).status_code == 404


async def test_two_writers_extend_one_unbroken_chain(replicas: tuple[Quart, Quart]) -> None:
    first, second = replicas

    async def burst(app: Quart, tag: str) -> None:
        for number in range(300):
            _state(app).audit.record("SYSTEM", f"test.{tag}", "ok", details={"n": number})
            if number % 50 == 0:
                await asyncio.sleep(0)  # yield, so the two writers' records interleave

    await asyncio.gather(burst(first, "a"), burst(second, "b"))
    assert await wait_for_records(_state(first), 600, timeout=15) == 600
    result = await AuditStore(_state(first).dal).verify()
    assert (result.ok, result.checked, result.first_bad_id) == (True, 600, None)
