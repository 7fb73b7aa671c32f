"""Several hubs on one Redis server: keys and channels stay apart by namespace and database."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
import redis.asyncio as aioredis

from flask_core.keyspace import Keyspace
from flask_core.redis_client import RedisTopology, redis_db
from router.settings import RouterSettings
from tests.conftest import KeyFactory
from tests.support.routers import running_router
from tests.support.waiting import wait_until


def test_names_are_the_contracts_on_db_0_without_namespace() -> None:
    names = Keyspace()
    assert names.registry_channel == "registry.changed"
    assert names.breaker_channel == "system.breaker"
    assert names.keys_invalidate_channel == "keys.invalidate"
    assert names.event_channel("c1", "chat.message") == "events.c1.chat.message"
    assert names.event_stream("c1") == "rh:events:stream:{c:c1}"


def test_a_namespace_prefixes_every_key_and_channel_and_a_db_qualifies_internal_ones() -> None:
    blue = Keyspace("blue", db=3)
    assert blue.event_seen("c1", "e") == "blue:rh:events:seen:{c:c1}:e"
    assert blue.event_channel("c1", "t") == "blue.events.c1.t"
    assert blue.response_channel("c1", "twitch") == "blue.responses.c1.twitch"
    assert blue.registry_channel == "blue.db3.registry.changed"
    assert Keyspace(db=2).keys_invalidate_channel == "db2.keys.invalidate"
    assert Keyspace(db=2).event_channel("c1", "t") == "events.c1.t"  # public names stay
    with pytest.raises(ValueError):
        Keyspace("a{b}")


def test_every_atomic_group_of_keys_shares_one_hash_tag() -> None:
    names = Keyspace("ns")
    community = [
        names.event_seen("c", "e"),
        names.event_stream("c"),
        names.event_dead("c"),
        names.event_community_groups("c"),
    ]
    registry = [
        names.registry_version,
        names.registry_leases,
        names.registry_health,
        names.registry_health_failures("m/i"),
        names.registry_health_lock("m/i"),
    ]
    for group, tag in ((community, "{c:c}"), (registry, "{registry}")):
        assert all(key.split("{", 1)[1].startswith(tag[1:]) for key in group), group


def test_the_db_number_is_read_from_any_url_form() -> None:
    assert redis_db("redis://h:6379/4") == 4
    assert redis_db("redis://h:6379") == 0
    assert redis_db("unix:///tmp/r.sock?db=2") == 2
    assert RedisTopology().environment() == {"REDIS_MODE": "standalone"}


async def _invalidations(settings: RouterSettings, api_key: KeyFactory) -> list[str]:
    """The channels a hub on ``settings`` announces a new key on."""
    listener = aioredis.Redis.from_url(str(settings.redis_url))
    pubsub = listener.pubsub()
    seen: list[str] = []
    try:
        await pubsub.psubscribe("*keys.invalidate")
        await pubsub.get_message(timeout=1)  # the subscription's confirmation
        async with running_router(settings) as app:
            await api_key("core", app=app)

            async def heard() -> bool:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
                if message is not None:
                    seen.append(message["channel"].decode())
                return bool(seen)

            await wait_until(heard, what="a key invalidation")
            await asyncio.sleep(0)
    finally:
        await pubsub.aclose()
        await listener.aclose()
    return seen


async def test_hubs_on_other_databases_or_namespaces_announce_on_their_own_channels(
    settings: RouterSettings, api_key: KeyFactory
) -> None:
    separator = "&" if "?" in str(settings.redis_url) else "?"
    other_db = replace(settings, redis_url=f"{settings.redis_url}{separator}db=1")
    assert await _invalidations(settings, api_key) == ["keys.invalidate"]
    assert await _invalidations(other_db, api_key) == ["db1.keys.invalidate"]
    named = replace(settings, namespace="blue")
    assert await _invalidations(named, api_key) == ["blue.keys.invalidate"]
