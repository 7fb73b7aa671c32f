"""One contract for the Redis and in-memory rate limiters, plus the header format."""

from __future__ import annotations

import asyncio
import logging

import pytest
import redis.asyncio as aioredis

from flask_core.errors import RateLimited
from flask_core.ratelimit import (
    Decision,
    FailoverRateLimiter,
    MemoryRateLimiter,
    Quota,
    QuotaState,
    Rate,
    RateLimiter,
    RedisRateLimiter,
)
from tests.support.stores import ALL_REDIS_MODES
from tests.support.waiting import let_time_pass

FIVE = Rate(5, 60)
pytestmark = ALL_REDIS_MODES


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest, redis: aioredis.Redis) -> RateLimiter:
    if request.param == "memory":
        return MemoryRateLimiter()
    return RedisRateLimiter(redis, prefix="test:rl:")


def test_rate_parse() -> None:
    assert Rate.parse("20/minute") == Rate(20, 60)
    assert Rate.parse("3/second") == Rate(3, 1)
    with pytest.raises(ValueError):
        Rate.parse("twenty")


async def test_allows_exactly_the_limit(limiter: RateLimiter) -> None:
    quota = Quota("key", "k1", FIVE)
    decisions = [await limiter.hit([quota]) for _ in range(8)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 3
    assert [d.states[0].remaining for d in decisions[:5]] == [4, 3, 2, 1, 0]
    assert 0 < decisions[-1].states[0].reset_seconds <= 60


async def test_a_denied_hit_counts_against_no_quota(limiter: RateLimiter) -> None:
    small, large = Quota("key", "k2", Rate(1, 60)), Quota("community", "c2", FIVE)
    assert (await limiter.hit([small, large])).allowed
    denied = await limiter.hit([small, large])
    assert not denied.allowed
    assert denied.states[1].remaining == 4  # the community was not charged for the denial


async def test_window_ends_and_counting_starts_again(limiter: RateLimiter) -> None:
    quota = Quota("key", "k3", Rate(1, 1))
    assert (await limiter.hit([quota])).allowed
    assert not (await limiter.hit([quota])).allowed
    await let_time_pass(1.1)  # the 1 s window ends
    assert (await limiter.hit([quota])).allowed


async def test_redis_count_is_exact_under_concurrency(redis: aioredis.Redis) -> None:
    limiters = [RedisRateLimiter(redis, prefix="test:rl:") for _ in range(3)]
    quota = Quota("key", "k4", Rate(20, 60))
    decisions = await asyncio.gather(*(limiters[i % 3].hit([quota]) for i in range(50)))
    assert sum(d.allowed for d in decisions) == 20


def test_headers_follow_the_ietf_draft_and_legacy_names() -> None:
    key, community = Quota("key", "k", Rate(20, 60)), Quota("community", "c", Rate(100, 60))
    decision = Decision(False, (QuotaState(key, 0, 42), QuotaState(community, 57, 42)))
    headers = decision.headers()
    assert headers["RateLimit-Policy"] == '"key";q=20;w=60, "community";q=100;w=60'
    assert headers["RateLimit"] == '"key";r=0;t=42, "community";r=57;t=42'
    assert headers["X-RateLimit-Limit"] == "20"
    assert headers["X-RateLimit-Remaining"] == "0"
    assert headers["X-RateLimit-Reset"] == "42"
    with pytest.raises(RateLimited) as raised:
        decision.raise_if_denied()
    assert raised.value.headers["Retry-After"] == "42"


async def test_failover_counts_locally_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    dead = aioredis.Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2)
    limiter = FailoverRateLimiter(RedisRateLimiter(dead), MemoryRateLimiter())
    quota = Quota("key", "k5", Rate(2, 60))
    with caplog.at_level(logging.WARNING, logger="flask_core.failover"):
        results = [(await limiter.hit([quota])).allowed for _ in range(3)]
    assert results == [True, True, False]
    assert len([r for r in caplog.records if "fall back" in r.getMessage()]) == 1
    await dead.aclose()
