from __future__ import annotations

import asyncio

from flask_core.tasks import BackgroundTasks
from tests.support.waiting import wait_until


async def test_close_stops_a_task_that_swallows_one_cancellation() -> None:
    tasks = BackgroundTasks()
    swallowed = 0
    started = asyncio.Event()

    async def stubborn() -> None:
        nonlocal swallowed
        started.set()
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                swallowed += 1  # what a retrying client loop can end up doing
                if swallowed > 3:
                    raise

    task = tasks.spawn("stubborn", stubborn())
    await started.wait()  # cancelled before it ran, it could not swallow anything
    await tasks.close(grace=2.0)
    assert task.done()
    assert swallowed == 4
    assert len(tasks) == 0


async def test_a_failing_task_is_forgotten_and_logged() -> None:
    tasks = BackgroundTasks()

    async def boom() -> None:
        raise RuntimeError("x")

    task = tasks.spawn("boom", boom())
    await asyncio.wait([task])
    await wait_until(lambda: len(tasks) == 0, what="the done callback forgot the task")
    assert len(tasks) == 0
