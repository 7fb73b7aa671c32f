"""Watch the epoch marker: say when Redis lost its data, and have one process recreate it.

The router writes a random epoch into Redis (the markers) and into PostgreSQL. A marker that is
missing, or names another epoch, while PostgreSQL remembers one means Redis lost its data (or
is another Redis): it is logged at ERROR once, by the one process that takes the recovery lock
(``SET NX``), which recreates what it can and then writes a new epoch. Every other process
sees the new epoch at its next check and says so at WARNING. No marker and no remembered
epoch is a first start: an epoch is written without alarm.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import CollectorRegistry, Counter

from flask_core.logging import get_logger
from flask_core.redis_client import OUTAGE_ERRORS

from ..audit.trail import AuditTrail
from .markers import EpochMarkers
from .recovery import DataRecovery
from .store import EpochStore

_log = get_logger("router.epoch")
CHECK_SECONDS = 1.0
# While Redis does not answer, look again soon: the first answer after a reconnect is checked
# before much traffic has gone into a Redis that may have come back empty.
RETRY_SECONDS = 0.25


def new_epoch() -> str:
    return uuid.uuid4().hex


class EpochWatcher:
    """Check the markers every second (and at once when Redis answers again)."""

    def __init__(
        self,
        markers: EpochMarkers,
        store: EpochStore,
        recovery: DataRecovery,
        audit: AuditTrail | None = None,
        *,
        check_seconds: float = CHECK_SECONDS,
        metrics: CollectorRegistry | None = None,
        forgetters: Sequence[Callable[[], None]] = (),
    ) -> None:
        # What this process remembers of Redis's content, dropped when the data was recreated.
        self._forgetters = tuple(forgetters)
        self._markers = markers
        self._store = store
        self._recovery = recovery
        self._audit = audit
        self._check_seconds = check_seconds
        self.epoch: str | None = None  # the epoch this process last saw in Redis
        self.recoveries = 0  # losses this process recreated the data of
        self._loss_reported = False
        self._recovered = Counter(
            "router_redis_data_losses_total",
            "Losses of Redis data this process noticed and recreated what it could after.",
            registry=metrics,
        )

    async def run(self) -> None:
        """Check forever; an outage only shortens the pause, another failure is logged."""
        while True:
            delay = self._check_seconds
            try:
                await self.check()
                await self._recovery.remember_groups()
            except OUTAGE_ERRORS:
                delay = RETRY_SECONDS
            except Exception as error:  # keep watching: the next check tries again
                _log.warning("Redis epoch check failed: %r", error, extra={"event_type": "ERROR"})
            await asyncio.sleep(delay)

    async def check(self) -> None:
        """Compare the markers with the epoch remembered; establish, adopt or recover."""
        markers = await self._markers.read()
        if self.epoch is not None and all(value == self.epoch for value in markers):
            return
        remembered = await self._store.get()
        present = {value for value in markers if value is not None}
        if len(present) == 1 and None not in markers:
            current = present.pop()
            if remembered is None:  # PostgreSQL is new to this Redis: take its epoch
                remembered = await self._store.adopt(current)
            if current == remembered:
                self._adopt(current)
                return
        elif remembered is None and not present:
            await self._locked(self._establish)
            return
        await self._locked(self._recover)

    def _adopt(self, epoch: str) -> None:
        if self.epoch is not None and self.epoch != epoch:
            self._forget()
            _log.warning(
                "Redis data was recreated by another router process (epoch %s)",
                epoch,
                extra={"event_type": "SYSTEM"},
            )
        self.epoch = epoch
        self._loss_reported = False

    def _forget(self) -> None:
        for forget in self._forgetters:
            forget()

    async def _locked(self, step: Callable[[], Awaitable[None]]) -> None:
        """Run ``step`` in the one process holding the lock; the others look again later."""
        lock = self._markers.lock
        if not await lock.acquire():
            return
        try:
            await step()
        finally:
            with contextlib.suppress(*OUTAGE_ERRORS):  # it expires on its own
                await lock.release()

    async def _establish(self) -> None:
        if await self._store.get() is not None:
            return  # somebody established it meanwhile: the next check adopts it
        epoch = new_epoch()
        await self._store.put(epoch)
        await self._markers.write(epoch)
        self.epoch = epoch
        _log.info("Redis epoch %s written (first start)", epoch, extra={"event_type": "SYSTEM"})

    async def _recover(self) -> None:
        markers, remembered = await self._markers.read(), await self._store.get()
        if remembered is not None and all(value == remembered for value in markers):
            self._adopt(remembered)  # recreated by the process that held the lock before us
            return
        self._report_loss(markers, remembered)
        self._forget()
        recreated = await self._recovery.recreate()
        epoch = new_epoch()
        await self._store.put(epoch)
        await self._markers.write(epoch)
        self.epoch, self._loss_reported = epoch, False
        self.recoveries += 1
        self._recovered.inc()
        _log.warning(
            "recreated after the loss of Redis data: %d consumer groups, the registry state of"
            " %d modules (%d instances); new Redis epoch %s",
            recreated.groups,
            recreated.modules,
            recreated.instances,
            epoch,
            extra={"event_type": "SYSTEM"},
        )

    def _report_loss(self, markers: list[str | None], remembered: str | None) -> None:
        """The ERROR line, once per loss (a recovery cut short by an outage is retried)."""
        if self._loss_reported:
            return
        self._loss_reported = True
        missing = sum(value is None for value in markers)
        found = sorted({value for value in markers if value is not None})
        _log.error(
            "Redis lost its data: %d of %d epoch markers missing, found %s, expected %s;"
            " undelivered events, pending deliveries, dead letters, dedupe marks, breaker and"
            " rate-limit state are gone. Recreating consumer groups, delivery leases and the"
            " registry state",
            missing,
            len(markers),
            ", ".join(found) or "none",
            remembered,
            extra={"event_type": "ERROR"},
        )
        if self._audit is not None:
            details = {"markers_missing": missing, "markers": len(markers), "expected": remembered}
            self._audit.record("SYSTEM", "redis.data_lost", "failure", details=details)
