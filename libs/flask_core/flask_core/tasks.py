"""Background tasks with a kept reference, logged failures and a drain at shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from .logging import get_logger

_log = get_logger("flask_core.tasks")


class BackgroundTasks:
    """Owns every long-running task of a service."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, name: str, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error(
                "background task %s failed",
                task.get_name(),
                exc_info=task.exception(),
                extra={"event_type": "ERROR"},
            )

    def __len__(self) -> int:
        return len(self._tasks)

    async def close(self, grace: float = 5.0) -> None:
        """Cancel every task and wait (bounded) for them to finish.

        Cancellation is repeated until a task ends: a library that turns one cancellation into
        a timeout error (caught and retried by a loop) must not keep its task alive.
        """
        pending = set(self._tasks)
        deadline = asyncio.get_running_loop().time() + grace
        while pending:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                names = ", ".join(sorted(task.get_name() for task in pending))
                _log.error("background tasks still running at shutdown: %s", names)
                return
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=min(0.1, remaining))
