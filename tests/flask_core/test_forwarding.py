"""EventForwarder cannot be stopped by one event: bad ones are set aside, the loop is restarted.

The router is a stand-in on loopback (tests/support/router_standin.py).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from flask_core.forwarding import EventForwarder, PendingEvent, TriggerModule
from flask_core.module import ModuleSettings
from flask_core.router_client import RouterClient
from tests.support.router_standin import REFUSED_TYPE, router_standin_app
from tests.support.servers import free_port, serve_app


@dataclass
class StandInRouter:
    url: str
    events: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
async def router() -> AsyncIterator[StandInRouter]:
    received: list[dict[str, Any]] = []
    async with serve_app(router_standin_app(received)) as url:
        yield StandInRouter(url, received)


async def _until(check: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def event(event_id: str, **extra: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": "chat.message", "payload": {"text": "hi", **extra}}


async def test_bad_events_are_set_aside_and_later_ones_still_forwarded(
    router: StandInRouter,
) -> None:
    client = RouterClient(router.url, "key")
    forwarder = EventForwarder(client, "twitch", dead_capacity=2)
    forwarder.start()
    try:
        for bad in (
            event("nan", score=math.nan),
            event("inf", score=-math.inf),
            event("surrogate", text="\ud800"),
            event("object", blob=object()),
            {"event_id": "refused", "type": REFUSED_TYPE},
        ):
            assert forwarder.offer(PendingEvent("chan", bad))
        assert forwarder.offer(PendingEvent("chan", event("good")))
        await _until(lambda: forwarder.forwarded == 1)
        assert [e["event_id"] for e in router.events] == ["good"]
        assert forwarder.set_aside == 5
        health = forwarder.health()
        assert health["running"] and health["restarts"] == 0
        # Bounded: only the last two are kept, without their payloads.
        assert [d["event_id"] for d in health["dead"]] == ["object", "refused"]
        assert "refused by the router: router answered 400" in health["dead"][1]["reason"]
        assert all("payload" not in d for d in health["dead"])
        assert forwarder.dead[0].event["payload"]["blob"] is not None  # kept for an operator
    finally:
        await forwarder.close(1)
        await client.aclose()


class _FailingOnce(asyncio.Queue[PendingEvent]):
    """A queue whose first ``get`` raises, standing for a bug in the forwarding loop."""

    failed = False

    async def get(self) -> PendingEvent:
        if not self.failed:
            self.failed = True
            raise RuntimeError("a bug in the loop")
        return await super().get()


async def test_a_crashed_forwarding_loop_is_restarted(router: StandInRouter) -> None:
    client = RouterClient(router.url, "key")
    forwarder = EventForwarder(client, "twitch", restart_delay=0.01)
    forwarder.queue = _FailingOnce(maxsize=10)
    forwarder.start()
    try:
        assert forwarder.offer(PendingEvent("chan", event("after-crash")))
        await _until(lambda: forwarder.forwarded == 1)
        assert forwarder.restarts == 1 and forwarder.running
    finally:
        await forwarder.close(1)
        await client.aclose()


class _Trigger(TriggerModule):
    platform = "test"


async def test_a_trigger_module_whose_forwarder_stopped_reports_degraded(
    router: StandInRouter,
) -> None:
    module = _Trigger(ModuleSettings("trigger", "1.0.0", free_port(), router.url, "key"))
    async with module.app.test_app() as app:
        client = app.test_client()
        healthy = await (await client.get("/health")).get_json()
        assert healthy["status"] == "healthy" and healthy["forwarder"]["running"]
        supervisor = module.forwarder._supervisor
        assert supervisor is not None
        supervisor.cancel()
        await asyncio.sleep(0)
        await _until(lambda: not module.forwarder.running)
        response = await client.get("/health")
        degraded = await response.get_json()
        assert response.status_code == 200
        assert degraded["status"] == "degraded"
        assert degraded["problems"] == ["the event forwarder is not running"]
