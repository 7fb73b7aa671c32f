"""The outage drills: each a fault script on the load's clock (seconds, scaled by the stage).

Every script leaves its dependencies running again when it ends; the runner checks afterwards.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from .checks import undelivered
from .stage import Stage, wait_registered


@dataclass(frozen=True)
class Drill:
    name: str  # what `make drills ARGS=...` picks
    title: str  # the table's row
    affected: str  # the kind of request whose recovery is timed (load.SUCCESS)
    seconds: float  # how long the load runs (scaled)
    script: Callable[[Stage], Awaitable[None]]


async def redis_down(stage: Stage) -> None:
    await stage.at(6)
    stage.fault()
    await asyncio.to_thread(stage.redis.stop)
    stage.note("Redis stopped")
    await stage.at(16)
    await asyncio.to_thread(stage.redis.start)
    stage.returned()
    stage.note("Redis started again (same AOF directory)")


async def postgres_down(stage: Stage) -> None:
    assert stage.postgres is not None, "this drill needs the harness's own PostgreSQL"
    await stage.at(6)
    stage.fault()
    await asyncio.to_thread(stage.postgres.stop)
    stage.note("PostgreSQL stopped")
    await stage.at(16)
    await asyncio.to_thread(stage.postgres.start)
    stage.returned()
    stage.note("PostgreSQL started again")


async def module_killed(stage: Stage) -> None:
    await stage.at(6)
    stage.fault()
    await asyncio.to_thread(stage.module.kill)
    stage.note("module SIGKILLed")
    await stage.at(21)
    await stage.module.start()
    stage.returned()
    stage.note("module started again (same instance id), answering /health")


async def worker_killed(stage: Stage) -> None:
    await stage.at(8)
    workers = stage.router.children()
    stage.note(f"router workers before: {len(workers)}")
    stage.fault()
    os.kill(workers[0], signal.SIGKILL)
    stage.returned()  # nothing returns by itself: recovery is timed from the kill
    stage.note(f"worker {workers[0]} SIGKILLed")
    await stage.at(13)
    alive = "running" if stage.router.running else "EXITED"
    stage.note(f"5 s later: router master {alive}, workers {len(stage.router.children())}")


async def router_killed_while_spooling(stage: Stage) -> None:
    await stage.at(5)
    stage.fault()
    await asyncio.to_thread(stage.redis.stop)
    stage.note("Redis stopped: events spool")
    await stage.at(10)
    stage.note(f"spool before the kill: {_spooled(stage.directory)}")
    await asyncio.to_thread(stage.router.kill)
    stage.note("router SIGKILLed (master and workers)")
    await stage.at(12)
    stage.returned()
    await _restart_router(stage)
    await stage.at(17)
    await asyncio.to_thread(stage.redis.start)
    stage.note("Redis started again")


async def _restart_router(stage: Stage) -> None:
    try:
        await stage.router.start(seconds=30)
    except (RuntimeError, TimeoutError, AssertionError) as error:
        stage.note(f"router did not start while Redis is down ({error}); starting Redis first")
        stage.router.stop()
        await asyncio.to_thread(stage.redis.start)
        await stage.router.start(seconds=30)
    stage.note("router started again on the same data directory")


def _spooled(directory: Path) -> str:
    """Lines waiting in the router's event and audit spools."""
    counts = []
    for kind in ("events", "audit"):
        folder = directory / "router-data" / "spool" / kind
        lines = sum(p.read_bytes().count(b"\n") for p in folder.glob("*.ndjson"))
        counts.append(f"{lines} {kind} lines")
    return ", ".join(counts)


def redis_restarted(empty: bool) -> Callable[[Stage], Awaitable[None]]:
    async def script(stage: Stage) -> None:
        await stage.at(3)
        await asyncio.to_thread(stage.module.kill)
        stage.note("module SIGKILLed: a backlog builds in the stream")
        await stage.at(9)
        backlog = undelivered(stage.load.tally, stage.records) if stage.load else 0
        stage.fault()
        await asyncio.to_thread(stage.redis.stop)
        if empty:
            await asyncio.to_thread(stage.redis.wipe)
        await asyncio.to_thread(stage.redis.start)
        stage.returned()
        data = "its data wiped (empty)" if empty else "the same AOF directory"
        stage.note(f"Redis restarted on {data}, with {backlog} accepted events undelivered")
        await stage.at(12)
        await stage.module.start()
        await wait_registered(stage.admin)
        stage.note("module started again")

    return script


DRILLS = (
    Drill("redis", "Redis down 10 s", "event", 26, redis_down),
    Drill("postgres", "PostgreSQL down 10 s", "event", 26, postgres_down),
    Drill("module", "module killed 15 s", "action", 31, module_killed),
    Drill("worker", "SIGKILL one router worker", "event", 20, worker_killed),
    Drill(
        "spooling", "SIGKILL the router while spooling", "event", 25, router_killed_while_spooling
    ),
    Drill(
        "redis-restart", "Redis restarted (AOF) with a backlog", "event", 22, redis_restarted(False)
    ),
    Drill(
        "redis-empty", "Redis restarted empty with a backlog", "event", 22, redis_restarted(True)
    ),
)
