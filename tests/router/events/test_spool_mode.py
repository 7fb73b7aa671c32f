"""Spool mode with Redis answering: it ends with the drain, and dedupe stays shared meanwhile.

Spool mode is entered here by putting an envelope in a router's spool while Redis is up, as
when Redis has just come back and the flusher has not run yet: new events must queue behind it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace
from typing import Any

import redis.asyncio as aioredis
from quart import Quart

from flask_core.keyspace import DEFAULT_KEYSPACE
from router.events.models import build_envelope
from router.events.service import EventService
from router.events.spool import SpooledEvent
from router.settings import RouterSettings
from tests.conftest import KeyFactory
from tests.support.routers import running_router
from tests.support.servers import serve_app
from tests.support.standin import registration
from tests.support.stores import ALL_REDIS_MODES
from tests.support.waiting import wait_until

from .conftest import StandInModule

pytestmark = ALL_REDIS_MODES

CHAT = {"platform": "slack", "type": "chat.message", "channel_id": "chan"}


def _events(app: Quart) -> EventService:
    return app.extensions["router"].events  # type: ignore[no-any-return]


async def _spool_one_event(app: Quart) -> str:
    """An envelope waiting in the router's spool, the way an outage leaves one."""
    envelope = build_envelope({**CHAT, "payload": {"text": "from the outage"}}, "c1", "test")
    await _events(app).spool.append([SpooledEvent(envelope)])
    return envelope.event_id


async def _chat_ids_in_stream(redis: aioredis.Redis) -> list[str]:
    entries = await redis.xrange(DEFAULT_KEYSPACE.event_stream("c1"))
    envelopes = [json.loads(fields[b"e"]) for _, fields in entries]
    return [e["event_id"] for e in envelopes if e["type"] == "chat.message"]


async def test_spool_mode_ends_with_the_drain_under_continuous_load(
    settings: RouterSettings, api_key: KeyFactory, redis: aioredis.Redis
) -> None:
    # The test drains the way the flusher does, at the moment it chooses: under load, with
    # events already queued behind the spool and more arriving during the drain.
    held = replace(settings, events=replace(settings.events, spool_retry_seconds=3600))
    async with running_router(held) as app:
        client = app.test_client()
        trigger = await api_key("trigger", communities=["c1"], app=app)
        headers = {"X-API-Key": trigger, "X-Community-ID": "c1"}
        events = _events(app)
        sent: dict[int, list[str]] = {sender: [] for sender in range(6)}
        stop = asyncio.Event()

        def total() -> int:
            return sum(len(ids) for ids in sent.values())

        async def send(sender: int) -> None:
            while not stop.is_set():
                body = {**CHAT, "payload": {"sender": sender, "n": len(sent[sender])}}
                response = await client.post("/api/v1/events", json=body, headers=headers)
                assert response.status_code == 202
                sent[sender].append((await response.get_json())["event_id"])

        senders = [asyncio.create_task(send(sender)) for sender in range(6)]
        try:
            await wait_until(lambda: total() >= 12, what="load under way")
            spooled_id = await _spool_one_event(app)
            await wait_until(lambda: events.ingest.spooled >= 20, what="events queued behind")
            await events.spool.drain(events.ingest.replay)
            assert not events.spool.pending  # nothing that waited on the drain re-armed it
            queued_behind = events.ingest.spooled
            goal = total() + 60
            await wait_until(lambda: total() >= goal, timeout=30, what="load after the drain")
        finally:
            stop.set()
            await asyncio.gather(*senders)
        assert not events.spool.pending
        assert events.ingest.spooled == queued_behind  # nothing spooled after the drain
    in_stream = await _chat_ids_in_stream(redis)
    assert sorted(in_stream) == sorted([spooled_id, *(i for ids in sent.values() for i in ids)])
    for ids in sent.values():  # each sender's events in the order they were accepted
        assert [i for i in in_stream if i in set(ids)] == ids


async def test_re_sent_events_while_spooling_are_duplicates_and_run_their_command_once(
    settings: RouterSettings, api_key: KeyFactory, redis: aioredis.Redis
) -> None:
    # The flusher stays away, so the spool holds everything until the test drains it.
    held = replace(settings, events=replace(settings.events, spool_retry_seconds=3600))
    async with running_router(held) as spooling, running_router(held) as other:
        admin = await api_key("admin", app=spooling)
        trigger = await api_key("trigger", communities=["c1"], app=spooling)
        headers = {"X-API-Key": trigger, "X-Community-ID": "c1"}
        first, second = spooling.test_client(), other.test_client()
        module = StandInModule()
        async with serve_app(module.app()) as base_url:
            body = registration("archive", base_url, commands={"!echo": "archive.echo"})
            registered = await first.post(
                "/api/v1/register", json=body, headers={"X-API-Key": admin}
            )
            assert registered.status_code == 201
            await wait_until(
                lambda: other.extensions["router"].registry.command("!echo", "c1") is not None,
                what="the second router sees the command",
            )
            spooled_id = await _spool_one_event(spooling)

            async def post(client: Any, event_id: str, n: int) -> tuple[int, dict[str, Any]]:
                event = {**CHAT, "event_id": event_id, "payload": {"text": f"!echo {n}"}}
                response = await client.post("/api/v1/events", json=event, headers=headers)
                return response.status_code, await response.get_json()

            queued = [str(uuid.uuid4()) for _ in range(10)]
            for n, event_id in enumerate(queued):
                status, answer = await post(first, event_id, n)
                assert (status, answer["command"]["status"]) == (202, "ok")
            for n, event_id in enumerate(queued):  # re-sent to each router
                assert await post(second, event_id, n) == (
                    200,
                    {"event_id": event_id, "duplicate": True},
                )
                assert (await post(first, event_id, n))[0] == 200
            direct = [str(uuid.uuid4()) for _ in range(10)]
            for n, event_id in enumerate(direct):  # accepted straight into Redis elsewhere
                assert (await post(second, event_id, n))[0] == 202
                assert (await post(first, event_id, n))[0] == 200
            assert len(module.actions) == 20  # each command ran once
            assert _events(spooling).spool.pending
            await _events(spooling).spool.drain(_events(spooling).ingest.replay)
    in_stream = await _chat_ids_in_stream(redis)
    assert sorted(in_stream) == sorted([spooled_id, *queued, *direct])
    # The spooled events keep their order, the one from the outage first.
    assert [i for i in in_stream if i not in direct] == [spooled_id, *queued]
