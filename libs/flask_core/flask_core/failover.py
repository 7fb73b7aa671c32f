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
    """Whether a store is being bypassed; the switch both ways is logged once.

    The two lines name the store and what falls back to what (``{what}`` and ``{error}`` are
    filled in); by default they speak of Redis and per-process state.
    """

    def __init__(
        self,
        what: str,
        cooldown_seconds: float,
        *,
        lost: str = "Redis unreachable; {what} fall back to per-process state: {error}",
        back: str = "Redis reachable again; {what} shared",
    ) -> None:
        self.what = what
        self._cooldown = cooldown_seconds
        self._until = 0.0
        self._lost, self._back = lost, back
        self.degraded = False

    def active(self) -> bool:
        return self.degraded and time.monotonic() < self._until

    def failed(self, error: BaseException) -> None:
        self._until = time.monotonic() + self._cooldown
        if not self.degraded:
            self.degraded = True
            line = self._lost.format(what=self.what, error=type(error).__name__)
            _log.warning(line, extra={"event_type": "SYSTEM"})

    def recovered(self) -> None:
        if self.degraded:
            self.degraded = False
            _log.info(self._back.format(what=self.what), extra={"event_type": "SYSTEM"})


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
