"""Properties of the anonymous limit and of AUTH failure folding, over any traffic pattern."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from flask_core.errors import RateLimited
from flask_core.ratelimit import MemoryRateLimiter, Rate
from router.audit.folding import AuthFailureFolding
from router.ratelimits.anonymous import AnonymousLimit
from tests.support.servers import free_port

WINDOW = 10
ADDRESSES = st.sampled_from(["10.0.0.1", "10.0.0.2", "::1"])
# (address, seconds that pass before the request)
TRAFFIC = st.lists(st.tuples(ADDRESSES, st.floats(0, 4)), max_size=150)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(traffic=TRAFFIC, limit=st.integers(1, 6))
async def test_the_anonymous_limit_bounds_every_address_and_forgives_after_a_window(
    traffic: list[tuple[str, float]], limit: int
) -> None:
    clock = Clock()
    gate = AnonymousLimit(MemoryRateLimiter(clock), Rate(limit, WINDOW), clock)
    passed: dict[str, list[float]] = {}
    last_seen: dict[str, float] = {}
    for address, pause in traffic:
        clock.now += pause
        quiet = clock.now - last_seen.get(address, -1e9) >= WINDOW
        last_seen[address] = clock.now
        try:
            await gate.admit(address)
            await gate.refused(address)
        except RateLimited as refusal:
            assert not quiet, "a window of silence always lets the next request through"
            assert int(refusal.headers["Retry-After"]) >= 1
            continue
        passed.setdefault(address, []).append(clock.now)
    for times in passed.values():
        # Fixed windows: at most 2 x limit in any stretch shorter than one window.
        for first, last in zip(times, times[2 * limit :], strict=False):
            assert last - first >= WINDOW


class Sink:
    def __init__(self) -> None:
        self.records: list[Mapping[str, Any]] = []

    def record(self, category: str, action: str, result: str, **fields: Any) -> None:
        self.records.append({"category": category, "result": result, **fields["details"]})


FAILURES = st.lists(
    st.tuples(ADDRESSES, st.sampled_from(["-", "0123456789ab", "xdeadbeef"]), st.floats(0, 30)),
    max_size=60,
)


async def _fold_all(
    redis: aioredis.Redis, failures: list[tuple[str, str, float]]
) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """(failures recorded at once, failures counted in summaries) per (address, prefix)."""
    clock, sink = Clock(), Sink()
    folding = AuthFailureFolding(redis, sink, window_seconds=60, clock=clock)
    recorded_at_once: Counter[tuple[str, str]] = Counter()
    for address, prefix, pause in failures:
        clock.now += pause
        if await folding.count(address, prefix) == 1:
            recorded_at_once[(address, prefix)] += 1
        with contextlib.suppress(RedisError):  # as the background task does
            await folding.summarise_closed()
    clock.now += 180  # every window closed (and summarised by now)
    with contextlib.suppress(RedisError):
        await folding.summarise_closed()
    folding.close()
    summarised: Counter[tuple[str, str]] = Counter()
    for record in sink.records:
        assert record["category"] == "AUTH" and record["result"] == "denied"
        summarised[(record["remote"], record["key_prefix"])] += record["count"]
    return recorded_at_once, summarised


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(failures=FAILURES)
async def test_folded_counts_add_up_for_every_address_and_prefix(
    redis: aioredis.Redis, failures: list[tuple[str, str, float]]
) -> None:
    await redis.flushdb()  # one Redis for every example
    at_once, summarised = await _fold_all(redis, failures)
    assert at_once + summarised == Counter((a, p) for a, p, _ in failures)
    windows = {
        int((1000 + sum(f[2] for f in failures[: i + 1])) // 60) for i in range(len(failures))
    }
    assert sum(at_once.values()) <= len(windows) * 9  # one per pair and window: bounded


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(failures=FAILURES)
async def test_folded_counts_add_up_while_redis_is_down(
    failures: list[tuple[str, str, float]],
) -> None:
    unreachable = aioredis.Redis(
        port=free_port(), retry=Retry(NoBackoff(), 0), socket_connect_timeout=0.2
    )
    try:
        at_once, summarised = await _fold_all(unreachable, failures)
    finally:
        await unreachable.aclose()
    assert at_once + summarised == Counter((a, p) for a, p, _ in failures)
