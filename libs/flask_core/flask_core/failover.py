"""Bypassing a shared store (Redis) for a while after it failed, logging each switch once."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from .logging import get_logger
from .redis_client import OUTAGE_ERRORS, STORE_ERRORS, store_fault

S = TypeVar("S")
R = TypeVar("R")

_log = get_logger("flask_core.failover")


class Outage:
    """Whether a shared store is being bypassed; the switch both ways is logged once."""

    def __init__(self, what: str, cooldown_seconds: float) -> None:
        self.what = what
        self._cooldown = cooldown_seconds
        self._until = 0.0
        self.degraded = False

    def active(self) -> bool:
        return self.degraded and time.monotonic() < self._until

    def failed(self, error: Exception) -> None:
        self._until = time.monotonic() + self._cooldown
        if not self.degraded:
            self.degraded = True
            _log.warning(
                "Redis unreachable; %s fall back to per-process state: %s",
                self.what,
                type(error).__name__,
                extra={"event_type": "SYSTEM"},
            )

    def recovered(self) -> None:
        if self.degraded:
            self.degraded = False
            _log.info("Redis reachable again; %s shared", self.what, extra={"event_type": "SYSTEM"})


class Failover(Generic[S]):
    """Ask the shared store while it answers, else this process's own store of the same kind.

    After a failure the shared store is left alone for ``cooldown_seconds``, so calls made
    during an outage do not each wait for a connection attempt.
    """

    def __init__(self, shared: S, local: S, what: str, cooldown_seconds: float = 1.0) -> None:
        self.shared = shared
        self.local = local
        self.outage = Outage(what, cooldown_seconds)

    async def call(self, use: Callable[[S], Awaitable[R]]) -> R:
        """``use(shared)``, or ``use(local)`` when the shared store is bypassed or fails."""
        if self.outage.active():
            return await use(self.local)
        try:
            result = await use(self.shared)
        except OUTAGE_ERRORS as error:
            self.outage.failed(error)
            return await use(self.local)
        except STORE_ERRORS as error:
            # Redis answered: per-process state would only hide the fault (and break limits).
            raise store_fault(error, self.outage.what) from error
        self.outage.recovered()
        return result
