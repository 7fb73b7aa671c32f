"""After a drill: what the module received and what the audit trail holds, against the load's
tally; and how long the affected kind of request took to succeed again."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

from .load import Answer, Tally

SETTLE_SECONDS = 30.0  # the longest wait for deliveries and audit records to arrive
# Records reach the trail within a writer batch (or a spool replay once PostgreSQL answers);
# a count that has not moved for this long will not move any more.
AUDIT_STALL = 6.0
QUIET_SECONDS = 1.5  # once all is there, how long a late duplicate gets to show up


@dataclass(frozen=True)
class Received:
    """What the module wrote down: deliveries and action calls, by event id."""

    deliveries: Counter[str]
    actions: Counter[str]  # chat-command action calls, by the event id that caused them


def read_records(path: Path) -> Received:
    deliveries: Counter[str] = Counter()
    actions: Counter[str] = Counter()
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by the module's SIGKILL
            target = deliveries if record.get("kind") == "event" else actions
            if record.get("event_id"):
                target[str(record["event_id"])] += 1
    return Received(deliveries, actions)


def undelivered(tally: Tally, records: Path) -> int:
    delivered = read_records(records).deliveries
    return sum(1 for event_id in tally.accepted if event_id not in delivered)


async def settle_deliveries(tally: Tally, records: Path) -> Received:
    """Wait until every accepted event arrived (or the settle time ran out), then a quiet spell."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while undelivered(tally, records) and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
    await asyncio.sleep(QUIET_SECONDS)
    return read_records(records)


@dataclass(frozen=True)
class AuditCheck:
    found: int
    chain_ok: bool | None  # None: verify did not answer
    checked: int


async def settle_audit(admin: httpx.AsyncClient, expected: set[str]) -> AuditCheck:
    """Wait until every expected record is in the trail (or the settle time ran out); verify."""
    deadline = time.monotonic() + SETTLE_SECONDS
    found = await _found(admin, expected)
    changed = time.monotonic()
    while found < len(expected) and time.monotonic() < min(deadline, changed + AUDIT_STALL):
        await asyncio.sleep(0.5)
        now_found = await _found(admin, expected)
        if now_found != found:
            found, changed = now_found, time.monotonic()
    try:
        verify = (await admin.get("/api/v1/admin/audit/verify")).json()
    except (httpx.HTTPError, ValueError):
        return AuditCheck(found, None, 0)
    return AuditCheck(found, bool(verify.get("ok")), int(verify.get("checked", 0)))


async def _found(admin: httpx.AsyncClient, expected: set[str]) -> int:
    """How many of the expected request ids have a record (matched by correlation id)."""
    try:
        export = await admin.get("/api/v1/admin/audit/export", params={"format": "ndjson"})
    except httpx.HTTPError:
        return 0
    if export.status_code != 200:
        return 0
    seen = set()
    for line in export.text.splitlines():
        if line.strip():
            seen.add(json.loads(line).get("correlation_id"))
    return len(expected & seen)


def recovery(answers: list[Answer], kind: str, fault_at: float, returned_at: float) -> str:
    """From the dependency's return to the first success of ``kind`` after its last failure.

    The first success after the last failure, not the first success at all: a request served
    by a process that dies a moment later has not recovered anything. "at once" when no request
    of that kind failed since the fault began; "never" when the last one still failed.
    """
    kinds = ("event", "command") if kind == "event" else (kind,)
    since_fault = sorted(
        (a for a in answers if a.kind in kinds and a.sent_at >= fault_at), key=lambda a: a.sent_at
    )
    failed = [a.sent_at for a in since_fault if not a.ok]
    if not failed:
        return "at once"
    after = [a.done_at for a in since_fault if a.ok and a.sent_at > max(failed)]
    if not after:
        return "never"
    return f"{max(0.0, min(after) - returned_at):.2f} s"
