"""PostgreSQL out of reach: keys authenticate from the last known keys, revocations hold, every
AUTH failure reaches the trail once PostgreSQL is back, and what needs PostgreSQL answers 503."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import replace

import pytest
from quart import Quart

from router.app import create_app
from router.settings import RouterSettings
from router.state import RouterState
from tests.support.audit import wait_for_records
from tests.support.keys import KeyFactory
from tests.support.proxy import PostgresProxy
from tests.support.servers import serve_app
from tests.support.standin import Behaviour, registration, standin_app
from tests.support.stores import ALL_REDIS_MODES
from tests.support.waiting import wait_until

pytestmark = ALL_REDIS_MODES

CHAT = {"platform": "twitch", "type": "chat.message", "channel_id": "chan", "user_id": "twitch:7"}
BAD_KEY = "rh_0123456789ab_" + "x" * 43


class Outage:
    """Two router replicas whose PostgreSQL sits behind a proxy the test can cut."""

    def __init__(self, proxy: PostgresProxy, first: Quart, second: Quart) -> None:
        self.proxy, self.first, self.second = proxy, first, second
        self.down = False

    async def cut(self) -> None:
        await self.proxy.cut()
        self.down = True
        for application in (self.first, self.second):
            state(application).keys.authenticator.invalidate()  # no cached answer helps

    async def restore(self) -> None:
        await self.proxy.start()
        self.down = False


def state(application: Quart) -> RouterState:
    router: RouterState = application.extensions["router"]
    return router


def headers(key: str, community: str = "c1") -> dict[str, str]:
    return {"X-API-Key": key, "X-Community-ID": community}


@pytest.fixture
async def outage(settings: RouterSettings) -> AsyncIterator[Outage]:
    assert settings.database_url
    async with PostgresProxy(settings.database_url) as proxy, AsyncExitStack() as stack:
        through_proxy = replace(settings, database_url=proxy.url)
        apps = [create_app(through_proxy), create_app(through_proxy)]
        for application in apps:
            await stack.enter_async_context(application.test_app())
        outage = Outage(proxy, apps[0], apps[1])
        yield outage
        if outage.down:
            await outage.restore()  # the apps close (and flush) on a reachable database


async def send_event(application: Quart, key: str, text: str = "hi") -> int:
    body = {**CHAT, "payload": {"text": text}}
    response = await application.test_client().post(
        "/api/v1/events", json=body, headers=headers(key)
    )
    return response.status_code


async def test_a_known_key_sends_events_while_postgres_is_away(
    outage: Outage, api_key: KeyFactory
) -> None:
    trigger = await api_key("trigger", communities=["c1"], app=outage.first)
    await outage.cut()
    # The second replica never looked this key up: only the shared view knows it.
    assert await send_event(outage.second, trigger) == 202
    assert await send_event(outage.first, trigger) == 202
    await outage.restore()
    assert await send_event(outage.second, trigger, "back") == 202


async def test_actions_and_heartbeats_keep_working_while_postgres_is_away(
    outage: Outage, api_key: KeyFactory
) -> None:
    admin = await api_key("admin", app=outage.first)
    user = await api_key("user", communities=["c1"], app=outage.first)
    behaviour = Behaviour()
    async with serve_app(standin_app("mod", behaviour)) as base_url:
        registered = await outage.first.test_client().post(
            "/api/v1/register", json=registration("mod", base_url), headers={"X-API-Key": admin}
        )
        assert registered.status_code in (200, 201)
        second = state(outage.second).registry
        await wait_until(lambda: second.module("mod") is not None, what="the second replica")
        await outage.cut()
        called = await outage.second.test_client().post(
            "/api/v1/action/mod.echo", json={"user_id": "twitch:42"}, headers=headers(user)
        )
        assert called.status_code == 200, await called.get_json()
        assert len(behaviour.calls) == 1
        beat = await outage.second.test_client().post(
            "/api/v1/modules/mod/instances/i1/heartbeat", headers={"X-API-Key": admin}
        )
        assert beat.status_code == 200, await beat.get_json()
        unknown = await outage.second.test_client().post(
            "/api/v1/modules/mod/instances/nobody/heartbeat", headers={"X-API-Key": admin}
        )
        assert unknown.status_code == 404


async def test_a_key_revoked_on_another_replica_stays_refused_while_postgres_is_away(
    outage: Outage, api_key: KeyFactory
) -> None:
    admin = await api_key("admin", app=outage.first)
    victim = await api_key("trigger", communities=["c1"], app=outage.first)
    assert await send_event(outage.second, victim) == 202  # the second replica holds it usable
    victim_id = (await state(outage.first).keys.store.list(None))[-1].id
    revoked = await outage.first.test_client().delete(
        f"/api/v1/admin/keys/{victim_id}", headers={"X-API-Key": admin}
    )
    assert revoked.status_code == 204
    await outage.cut()
    assert await send_event(outage.second, victim) == 401
    assert await send_event(outage.first, victim) == 401


async def test_a_late_usable_record_cannot_bring_a_revoked_key_back(
    outage: Outage, api_key: KeyFactory
) -> None:
    victim = await api_key("trigger", communities=["c1"], app=outage.first)
    keys = state(outage.first).keys
    usable = (await keys.store.list(None))[-1]
    await keys.revoke(usable.id)
    await keys.known.remember(usable)  # a lookup that read the key before the revocation
    await outage.cut()
    assert await send_event(outage.second, victim) == 401


async def test_a_rotated_key_ends_with_its_grace_while_postgres_is_away(
    outage: Outage, api_key: KeyFactory
) -> None:
    admin = await api_key("admin", app=outage.first)
    old = await api_key("trigger", communities=["c1"], app=outage.first)
    old_id = (await state(outage.first).keys.store.list(None))[-1].id
    rotated = await outage.first.test_client().post(
        f"/api/v1/admin/keys/{old_id}/rotate",
        json={"grace_seconds": 0},
        headers={"X-API-Key": admin},
    )
    assert rotated.status_code == 201
    new = (await rotated.get_json())["key"]
    await outage.cut()
    assert await send_event(outage.second, old) == 401
    assert await send_event(outage.second, new) == 202


async def test_a_bad_key_gets_401_and_its_audit_record_arrives_after_the_outage(
    outage: Outage, api_key: KeyFactory
) -> None:
    admin = await api_key("admin", app=outage.first)
    router = state(outage.first)
    before = int(await router.dal.fetchval("SELECT count(*) FROM audit_log"))
    await outage.cut()
    assert await send_event(outage.first, BAD_KEY) == 401
    assert await send_event(outage.first, "not-a-key-at-all") == 401
    await outage.restore()
    assert await wait_for_records(router, before + 2, timeout=15) >= before + 2
    rows = await router.dal.fetch(
        "SELECT details FROM audit_log WHERE category = 'AUTH' ORDER BY id"
    )
    prefixes = {json.loads(row["details"]).get("key_prefix") for row in rows}
    assert "0123456789ab" in prefixes
    verify = await outage.first.test_client().get(
        "/api/v1/admin/audit/verify", headers={"X-API-Key": admin}
    )
    assert (await verify.get_json())["ok"] is True


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/admin/keys"),
        ("POST", "/api/v1/admin/keys"),
        ("GET", "/api/v1/admin/audit"),
        ("GET", "/api/v1/admin/communities"),
        ("POST", "/api/v1/admin/communities"),
    ],
)
async def test_what_needs_postgres_answers_503_with_retry_after(
    outage: Outage, api_key: KeyFactory, method: str, path: str
) -> None:
    admin = await api_key("admin", app=outage.first)
    await outage.cut()
    body = {"name": "n", "role": "user", "communities": ["c1"]} if "keys" in path else {"name": "n"}
    response = await outage.first.test_client().open(
        path, method=method, headers={"X-API-Key": admin}, json=body if method == "POST" else None
    )
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Retry-After"] == "2"
    assert (await response.get_json())["error"] == "module_unavailable"


async def test_an_unseen_key_gets_503_when_the_view_cannot_vouch_for_its_absence(
    outage: Outage, api_key: KeyFactory
) -> None:
    await api_key("trigger", communities=["c1"], app=outage.first)
    router = state(outage.first)
    await router.redis.delete(router.keys.keyspace.keys_complete)  # as after a data loss
    await outage.cut()
    response = await outage.first.test_client().post(
        "/api/v1/events", json=CHAT, headers=headers(BAD_KEY)
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"


async def test_a_full_sync_brings_keys_the_view_missed(outage: Outage, api_key: KeyFactory) -> None:
    trigger = await api_key("trigger", communities=["c1"], app=outage.first)
    keys = state(outage.first).keys
    await state(outage.first).redis.delete(keys.keyspace.keys_known, keys.keyspace.keys_complete)
    await keys.sync_known()
    await outage.cut()
    keys.known.forget_local()
    assert await send_event(outage.first, trigger) == 202
    assert await send_event(outage.first, BAD_KEY) == 401


async def test_a_record_changed_in_redis_is_not_trusted(
    outage: Outage, api_key: KeyFactory
) -> None:
    user = await api_key("user", communities=["c1"], app=outage.first)
    keys = state(outage.first).keys
    redis = state(outage.first).redis
    prefix = user.split("_")[1]
    stored = await redis.hget(keys.keyspace.keys_known, prefix)
    assert b'"role":"user"' in stored and user.encode() not in stored
    forged = stored.replace(b'"role":"user"', b'"role":"admin"')
    await redis.hset(keys.keyspace.keys_known, prefix, forged)
    await outage.cut()
    keys.known.forget_local()
    response = await outage.first.test_client().get(
        "/api/v1/admin/keys", headers={"X-API-Key": user}
    )
    assert response.status_code == 401  # not 503: it never got past authentication
