"""Circuit breakers per module instance: shared decisions, a local view, audited changes."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from flask_core import errors
from flask_core.breaker import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    Admission,
    BreakerState,
    BreakerStore,
    Transition,
)
from flask_core.logging import get_logger

from ..audit.records import AuditSink

_log = get_logger("router.routing.breakers")


def breaker_meta(name: str) -> dict[str, Any]:
    """What an announced transition of breaker ``{module_id}/{instance_id}`` says about it."""
    module_id, _, instance_id = name.partition("/")
    return {"breaker": name, "module_id": module_id, "instance_id": instance_id}


@dataclass(frozen=True, slots=True)
class _Seen:
    """What this process last learnt of a breaker: closed, or open until a moment."""

    state: BreakerState
    trusted_until: float  # monotonic; a safety net should the subscription stall unnoticed
    open_until: float = 0.0  # monotonic; when an open breaker's back-off ends


class InstanceBreakers:
    """The breaker of every instance: shared decisions in the store, and a local view of each
    breaker kept in step by the announcements on ``system.breaker``.

    Every transition is announced from inside the store's atomic script, so while this process
    hears the channel, what it last learnt of a breaker stays true until the next announcement:
    a closed breaker admits and an open one refuses (503) without any round trip. Only what
    must be decided atomically across processes goes to the store: the end of an open period
    and the half-open probes. While the channel is not heard (not yet subscribed,
    resubscribing, Redis away) nothing is remembered and every call asks the store; a
    store answer that raced an announcement is not remembered either.
    """

    def __init__(
        self, store: BreakerStore, audit: AuditSink, *, trust_seconds: float = 30.0
    ) -> None:
        self.store = store
        self._audit = audit
        self._trust_seconds = trust_seconds
        self._view: dict[str, _Seen] = {}
        self._hearing = False
        self._heard = 0  # announcements and subscription changes so far
        self._recording: set[asyncio.Task[None]] = set()

    async def acquire(self, name: str) -> Admission:
        now = time.monotonic()
        seen = self._view.get(name)
        if seen is not None and now < seen.trusted_until:
            if seen.state == CLOSED:
                return Admission(True, CLOSED)
            if now < seen.open_until:
                return Admission(False, OPEN, retry_after=seen.open_until - now)
        heard = self._heard
        admission = await self.store.acquire(name)
        if admission.transition is not None:
            self._report(admission.transition)
        if heard == self._heard:  # nothing announced meanwhile that this answer could hide
            self._remember(name, admission)
        return admission

    def _remember(self, name: str, admission: Admission) -> None:
        now = time.monotonic()
        if not self._hearing or admission.state == HALF_OPEN:
            self._view.pop(name, None)  # probes are decided in the store, one at a time
        elif admission.state == CLOSED:
            self._view[name] = _Seen(CLOSED, now + self._trust_seconds)
        elif not admission.allowed:
            until = now + admission.retry_after
            self._view[name] = _Seen(OPEN, now + self._trust_seconds, until)

    async def record(self, name: str, *, success: bool, probe: bool) -> None:
        if success and not probe:
            # A good answer outside a probe moves no breaker (it resets the failure count and
            # fills the window), so the caller's answer does not wait for its round trip.
            task = asyncio.create_task(self._record_later(name))
            self._recording.add(task)
            task.add_done_callback(self._recording.discard)
            return
        await self._record(name, success=success, probe=probe)

    async def _record_later(self, name: str) -> None:
        try:
            await self._record(name, success=True, probe=False)
        except errors.StoreFault:
            pass  # logged at ERROR where it was raised; the next call meets the fault itself
        except Exception:
            _log.exception(
                "breaker %s: a good answer was not recorded", name, extra={"event_type": "ERROR"}
            )

    async def close(self) -> None:
        """Wait (bounded) for the good answers still being recorded."""
        if self._recording:
            await asyncio.wait(set(self._recording), timeout=5.0)

    async def _record(self, name: str, *, success: bool, probe: bool) -> None:
        transition = await self.store.record(name, success=success, probe=probe)
        if transition is not None:
            # Its announcement (or, with Redis away, the next acquire) says what it is now.
            self._view.pop(name, None)
            self._report(transition)

    async def state(self, name: str) -> BreakerState:
        return await self.store.state(name)

    async def reset(self, name: str) -> Transition | None:
        self._view.pop(name, None)
        transition = await self.store.reset(name)
        if transition is not None:
            self._report(transition, reason="reset by an admin")
        return transition

    async def instance_back(self, name: str) -> None:
        """The instance behind ``name`` registered again or passed its health check again:
        an open breaker goes half-open now, so the next call probes it instead of waiting
        for the back-off to end."""
        try:
            transition = await self.store.half_open(name)
        except errors.StoreFault:  # logged at ERROR; the back-off still ends on its own
            return
        if transition is not None:
            self._view.pop(name, None)
            self._report(transition, reason="instance back")

    def on_message(self, body: dict[str, Any]) -> None:
        """Learn a transition another process (or this one) announced."""
        name = body.get("breaker")
        if not isinstance(name, str):
            return
        self._heard += 1
        now = time.monotonic()
        to, at_ms, until_ms = body.get("to"), body.get("at_ms"), body.get("open_until_ms")
        if to == CLOSED:
            self._view[name] = _Seen(CLOSED, now + self._trust_seconds)
        elif to == OPEN and isinstance(at_ms, int | float) and isinstance(until_ms, int | float):
            # Both moments are the Redis server's clock: only their difference is used here.
            until = now + max(0.0, until_ms - at_ms) / 1000
            self._view[name] = _Seen(OPEN, now + self._trust_seconds, until)
        else:
            self._view.pop(name, None)

    def hearing(self, subscribed: bool) -> None:
        """The channel was (re)subscribed, or the subscription ended: announcements may have
        been missed in between, so nothing learnt before is trusted any more."""
        self._hearing = subscribed
        self._heard += 1
        self._view.clear()

    def _report(self, transition: Transition, reason: str | None = None) -> None:
        module_id, _, instance_id = transition.name.partition("/")
        details = {
            "module_id": module_id,
            "instance_id": instance_id,
            "from": transition.from_state,
            "to": transition.to_state,
        }
        _log.warning(
            "breaker %s: %s -> %s",
            transition.name,
            transition.from_state,
            transition.to_state,
            extra={"event_type": "SYSTEM", "action": "breaker.transition"},
        )
        # The AAA word: a breaker closing is the service recovering; any other move is a failure.
        result = "success" if transition.to_state == "closed" else "failure"
        self._audit.record("SYSTEM", "breaker.transition", result, reason=reason, details=details)
