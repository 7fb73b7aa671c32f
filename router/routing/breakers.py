"""Circuit breakers per module instance: shared decisions, local open hints, audited changes."""

from __future__ import annotations

import time
from typing import Any

from flask_core.breaker import Admission, BreakerState, BreakerStore, Transition
from flask_core.logging import get_logger

from ..audit.records import AuditSink

_log = get_logger("router.routing.breakers")


def breaker_meta(name: str) -> dict[str, Any]:
    """What an announced transition of breaker ``{module_id}/{instance_id}`` says about it."""
    module_id, _, instance_id = name.partition("/")
    return {"breaker": name, "module_id": module_id, "instance_id": instance_id}


class InstanceBreakers:
    """The breaker of every instance; an open one is known locally until its back-off ends.

    The open period is a shared fact (Redis holds its end), so remembering it here lets an
    open breaker answer 503 without any round trip; an admin reset, announced on
    ``system.breaker``, drops the memory early. Likewise a breaker seen closed is trusted for
    up to ``closed_trust_seconds`` without asking Redis again: every transition is announced on
    ``system.breaker`` and drops that trust at once, and the short expiry bounds what a lost
    announcement can cost.
    """

    def __init__(
        self, store: BreakerStore, audit: AuditSink, *, closed_trust_seconds: float = 1.0
    ) -> None:
        self.store = store
        self._audit = audit
        self._closed_trust = closed_trust_seconds
        self._open_until: dict[str, float] = {}
        self._closed_until: dict[str, float] = {}

    def known_open(self, name: str) -> float:
        """Seconds the breaker is known to stay open; 0 when it may admit a call."""
        until = self._open_until.get(name)
        if until is None:
            return 0.0
        remaining = until - time.monotonic()
        if remaining <= 0:
            del self._open_until[name]
            return 0.0
        return remaining

    async def acquire(self, name: str) -> Admission:
        now = time.monotonic()
        if self._closed_until.get(name, 0.0) > now:
            return Admission(True, "closed")
        admission = await self.store.acquire(name)
        if admission.transition is not None:
            self._report(admission.transition)
        if admission.state == "closed":
            self._closed_until[name] = now + self._closed_trust
        elif not admission.allowed and admission.state == "open":
            self._open_until[name] = now + admission.retry_after
        return admission

    async def record(self, name: str, *, success: bool, probe: bool) -> None:
        transition = await self.store.record(name, success=success, probe=probe)
        if transition is not None:
            self._forget(name)
            self._report(transition)

    def _forget(self, name: str) -> None:
        self._closed_until.pop(name, None)
        self._open_until.pop(name, None)

    async def state(self, name: str) -> BreakerState:
        return await self.store.state(name)

    async def reset(self, name: str) -> Transition | None:
        self._forget(name)
        transition = await self.store.reset(name)
        if transition is not None:
            self._report(transition, reason="reset by an admin")
        return transition

    def on_message(self, body: dict[str, Any]) -> None:
        """Forget what this process believed about a breaker another process just moved."""
        name = body.get("breaker")
        if isinstance(name, str):
            self._forget(name)

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
