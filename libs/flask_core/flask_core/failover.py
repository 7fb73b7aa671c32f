"""Bypassing a shared store (Redis) for a while after it failed, logging each switch once."""

from __future__ import annotations

import time

from .logging import get_logger

_log = get_logger("flask_core.failover")


class Outage:
    """Whether a shared store is being bypassed; the switch both ways is logged once."""

    def __init__(self, what: str, cooldown_seconds: float) -> None:
        self._what = what
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
                self._what,
                type(error).__name__,
                extra={"event_type": "SYSTEM"},
            )

    def recovered(self) -> None:
        if self.degraded:
            self.degraded = False
            _log.info(
                "Redis reachable again; %s shared", self._what, extra={"event_type": "SYSTEM"}
            )
