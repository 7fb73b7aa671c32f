"""Waiting for something to happen, instead of sleeping a guessed amount of time.

Tests run on shared, loaded machines: a fixed sleep is either too short (a flaky test) or too
long (a slow suite). ``wait_until`` polls the condition itself and fails naming what it waited
for. The two named pauses below are for tests where time passing IS the behaviour under test.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable

# Called with no argument; truthy when met. It may return an awaitable (an async check).
Condition = Callable[[], object]

DEFAULT_TIMEOUT = 10.0
DEFAULT_INTERVAL = 0.02


async def _holds(condition: Condition) -> bool:
    result = condition()
    if inspect.isawaitable(result):
        result = await result
    return bool(result)


async def eventually(
    condition: Condition, timeout: float = DEFAULT_TIMEOUT, interval: float = DEFAULT_INTERVAL
) -> bool:
    """Whether ``condition`` (sync or async) came true within ``timeout`` seconds.

    For tests that assert on the outcome themselves; the condition is checked one last time at
    the deadline, so a slow last poll cannot turn a success into a failure.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await _holds(condition):
            return True
        await asyncio.sleep(interval)
    return await _holds(condition)


async def wait_until(
    condition: Condition,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = DEFAULT_INTERVAL,
    what: str | None = None,
) -> None:
    """Return as soon as ``condition`` holds; fail naming it after ``timeout`` seconds."""
    if not await eventually(condition, timeout, interval):
        described = what or getattr(condition, "__qualname__", repr(condition))
        raise AssertionError(f"timed out after {timeout} s waiting for: {described}")


async def let_time_pass(seconds: float) -> None:
    """Let a window, TTL, back-off or grace period run out: the passing of time is the test."""
    await asyncio.sleep(seconds)


async def allow_strays(seconds: float) -> None:
    """Give something that must NOT happen (a repeat, a stray delivery) the time to show up."""
    await asyncio.sleep(seconds)
