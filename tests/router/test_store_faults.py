"""A Redis that answers with an error (WRONGTYPE, CROSSSLOT, ...) is a fault, not an outage:
503 with the cause logged at ERROR, never a 500 and never a fallback to per-process state."""

from __future__ import annotations

import logging
import uuid

import pytest
import redis.asyncio as aioredis
from quart import Quart
from quart.typing import TestClientProtocol
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from flask_core.keyspace import Keyspace
from flask_core.redis_client import STORE_ERRORS, is_outage
from tests.conftest import KeyFactory
from tests.support.stores import ALL_REDIS_MODES

pytestmark = ALL_REDIS_MODES

EVENT = {"platform": "twitch", "type": "chat.message", "payload": {"text": "hi"}}


def _event() -> dict[str, object]:
    return {**EVENT, "event_id": str(uuid.uuid4()), "user_id": "twitch:7"}


async def test_a_wrongly_typed_quota_is_a_503_logged_at_error_not_a_fallback(
    app: Quart,
    client: TestClientProtocol,
    api_key: KeyFactory,
    redis: aioredis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = await api_key("trigger", communities=["c1"], module_id="twitch")
    quota = Keyspace().ratelimit_prefix + "user:{c:c1}:twitch:7"
    await redis.hset(quota, "not", "a counter")  # GET on it: WRONGTYPE
    headers = {"X-API-Key": key, "X-Community-ID": "c1"}
    with caplog.at_level(logging.ERROR):
        response = await client.post("/api/v1/events", json=_event(), headers=headers)
    assert response.status_code == 503
    assert (await response.get_json())["error"] == "module_unavailable"
    assert any("WRONGTYPE" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    assert not app.extensions["router"].limits.limiter.degraded


async def test_an_event_stream_of_the_wrong_type_is_a_503_and_nothing_is_spooled(
    client: TestClientProtocol,
    api_key: KeyFactory,
    redis: aioredis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = await api_key("trigger", communities=["c1"], module_id="twitch")
    await redis.set(Keyspace().event_stream("c1"), "not a stream")  # XADD on it: WRONGTYPE
    headers = {"X-API-Key": key, "X-Community-ID": "c1"}
    body = _event()
    with caplog.at_level(logging.ERROR):
        response = await client.post("/api/v1/events", json=body, headers=headers)
    assert response.status_code == 503
    assert any("WRONGTYPE" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    await redis.delete(Keyspace().event_stream("c1"))
    again = await client.post("/api/v1/events", json=body, headers=headers)
    assert again.status_code == 202  # the refused attempt did not mark the id as seen
    health = await (await client.get("/health")).get_json()
    assert health["status"] == "healthy"  # no spool, no per-process fallback


def test_connection_errors_are_outages_and_reply_errors_are_faults() -> None:
    assert is_outage(RedisConnectionError()) and is_outage(RedisTimeoutError())
    assert is_outage(OSError())
    for fault in (ResponseError("WRONGTYPE"), RedisClusterException("CROSSSLOT")):
        assert isinstance(fault, STORE_ERRORS) and not is_outage(fault)
