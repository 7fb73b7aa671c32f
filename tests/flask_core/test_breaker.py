"""One contract, run against the in-memory and the Redis breaker stores."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from flask_core.breaker import BreakerPolicy, BreakerStore, MemoryBreakerStore, Transition
from flask_core.router_only.breaker_redis import FailoverBreakerStore, RedisBreakerStore
from tests.support.stores import ALL_REDIS_MODES
from tests.support.waiting import let_time_pass

POLICY = BreakerPolicy(
    consecutive_failures=3,
    window_seconds=10,
    failure_rate=0.5,
    minimum_calls=6,
    base_backoff_seconds=0.15,
    max_backoff_seconds=0.6,
    jitter=0.0,
    half_open_max_probes=1,
    probe_successes_to_close=2,
)


pytestmark = ALL_REDIS_MODES


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, redis: aioredis.Redis) -> BreakerStore:
    if request.param == "memory":
        return MemoryBreakerStore(POLICY)
    return RedisBreakerStore(redis, POLICY, prefix="test:breaker:")


async def fail(store: BreakerStore, name: str, times: int) -> list[Transition]:
    found = []
    for _ in range(times):
        admission = await store.acquire(name)
        transition = await store.record(name, success=False, probe=admission.probe)
        if transition:
            found.append(transition)
    return found


async def test_consecutive_failures_open_the_breaker(store: BreakerStore) -> None:
    assert await fail(store, "a", 2) == []
    assert await store.state("a") == "closed"
    assert await fail(store, "a", 1) == [Transition("a", "closed", "open")]
    denied = await store.acquire("a")
    assert not denied.allowed and denied.state == "open"
    assert 0 < denied.retry_after <= 0.15


async def test_a_success_resets_the_consecutive_count(store: BreakerStore) -> None:
    await fail(store, "a", 2)
    await store.record("a", success=True, probe=False)
    await fail(store, "a", 2)
    assert await store.state("a") == "closed"


async def test_failure_rate_over_the_window_opens_with_minimum_volume(store: BreakerStore) -> None:
    for _ in range(2):
        await store.record("b", success=True, probe=False)
        await fail(store, "b", 2)
        await store.record("b", success=True, probe=False)
    # 6 calls, 4 failed, never 3 in a row: the rate rule (>= 50%, >= 6 calls) opened it.
    assert await store.state("b") == "open"


async def test_rate_rule_waits_for_minimum_volume(store: BreakerStore) -> None:
    await fail(store, "c", 2)
    await store.record("c", success=True, probe=False)
    assert await store.state("c") == "closed"


async def test_half_open_admits_bounded_probes_then_closes(store: BreakerStore) -> None:
    await fail(store, "d", 3)
    await let_time_pass(0.2)  # the 0.15 s back-off ends
    probe = await store.acquire("d")
    assert probe.allowed and probe.probe and probe.state == "half_open"
    assert probe.transition == Transition("d", "open", "half_open")
    second = await store.acquire("d")
    assert not second.allowed and second.state == "half_open"
    assert await store.record("d", success=True, probe=True) is None
    again = await store.acquire("d")
    assert again.allowed and again.probe and again.transition is None
    closed = await store.record("d", success=True, probe=True)
    assert closed == Transition("d", "half_open", "closed")
    assert (await store.acquire("d")).allowed


async def test_failed_probe_reopens_with_longer_backoff(store: BreakerStore) -> None:
    await fail(store, "e", 3)
    await let_time_pass(0.2)  # the 0.15 s back-off ends
    probe = await store.acquire("e")
    reopened = await store.record("e", success=False, probe=probe.probe)
    assert reopened == Transition("e", "half_open", "open")
    denied = await store.acquire("e")
    assert not denied.allowed
    assert 0.15 < denied.retry_after <= 0.3  # second opening doubles the back-off


async def test_backoff_is_capped() -> None:
    assert POLICY.backoff_seconds(10, 0.0) == 0.6
    jittered = BreakerPolicy(jitter=0.5).backoff_seconds(1, 1.0)
    assert jittered == 0.5


async def test_reset_closes_an_open_breaker(store: BreakerStore) -> None:
    await fail(store, "f", 3)
    assert await store.reset("f") == Transition("f", "open", "closed")
    assert await store.state("f") == "closed"
    assert await store.reset("f") is None


async def test_half_open_now_makes_the_next_call_a_probe(store: BreakerStore) -> None:
    assert await store.half_open("j") is None  # closed: nothing to move
    await fail(store, "j", 3)
    assert await store.half_open("j") == Transition("j", "open", "half_open")
    assert await store.half_open("j") is None  # already half-open
    probe = await store.acquire("j")  # long before the back-off ends
    assert probe.allowed and probe.probe and probe.transition is None
    assert not (await store.acquire("j")).allowed  # still one probe at a time
    assert await store.record("j", success=True, probe=True) is None
    assert (await store.acquire("j")).probe
    assert await store.record("j", success=True, probe=True) == Transition(
        "j", "half_open", "closed"
    )


async def test_results_of_calls_admitted_before_opening_are_ignored(store: BreakerStore) -> None:
    await fail(store, "g", 3)
    assert await store.record("g", success=True, probe=False) is None
    assert await store.state("g") == "open"


async def test_redis_breakers_are_shared_and_transitions_published(
    redis: aioredis.Redis,
) -> None:
    one = RedisBreakerStore(redis, POLICY, prefix="test:breaker:", channel="system.breaker")
    two = RedisBreakerStore(redis, POLICY, prefix="test:breaker:", channel="system.breaker")
    pubsub = redis.pubsub()
    await pubsub.subscribe("system.breaker")
    await pubsub.get_message(timeout=1)
    await fail(one, "shared", 3)
    assert not (await two.acquire("shared")).allowed
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
    assert message is not None
    body = json.loads(message["data"])
    assert (body["breaker"], body["from"], body["to"]) == ("shared", "closed", "open")
    # How long it stays open, on the server's clock: listeners need not ask.
    assert 0 < body["open_until_ms"] - body["at_ms"] <= 150
    await pubsub.aclose()


async def test_failover_uses_local_state_when_redis_is_down() -> None:
    dead = aioredis.Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2)
    store = FailoverBreakerStore(
        RedisBreakerStore(dead, POLICY, prefix="x:"), MemoryBreakerStore(POLICY)
    )
    assert await fail(store, "h", 3) == [Transition("h", "closed", "open")]
    assert not (await store.acquire("h")).allowed
    await dead.aclose()


@pytest.fixture
async def redis_store(redis: aioredis.Redis) -> AsyncIterator[RedisBreakerStore]:
    yield RedisBreakerStore(redis, POLICY, prefix="test:breaker:")


async def test_concurrent_half_open_acquires_admit_only_the_bound(
    redis_store: RedisBreakerStore,
) -> None:
    await fail(redis_store, "i", 3)
    await let_time_pass(0.2)  # the 0.15 s back-off ends
    admissions = await asyncio.gather(*(redis_store.acquire("i") for _ in range(10)))
    assert sum(a.allowed for a in admissions) == 1
    assert sum(a.transition is not None for a in admissions) == 1
