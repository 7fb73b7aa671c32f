"""Run one drill: stage its servers, run the load and the fault script side by side, bring
everything back, then check deliveries and the audit trail and build the table row."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from pathlib import Path

from .checks import recovery, settle_audit, settle_deliveries
from .load import SUCCESS, Load, Tally
from .report import DrillRow, build_row, print_row
from .scenarios import Drill
from .servers import Postgres
from .stage import Stage, staged, wait_registered

RATE = 80.0  # requests a second
PROBE_SECONDS = 30.0


async def run_drill(
    drill: Drill,
    directory: Path,
    admin_database_url: str,
    postgres: Postgres | None,
    *,
    rate: float = RATE,
    scale: float = 1.0,
) -> DrillRow:
    print(f"\n-- drill: {drill.title} ({drill.seconds * scale:.0f} s of load at {rate:.0f} req/s)")
    async with staged(directory, admin_database_url, postgres, scale) as stage:
        log_start = stage.router.log.stat().st_size
        stage.load = Load(stage.router.url, stage.keys, rate, drill.seconds * scale)
        load = asyncio.create_task(stage.load.run())
        try:
            await drill.script(stage)
        finally:
            tally = await load
        timed = await _timed_recovery(stage, drill.affected)
        await _bring_back(stage)
        received = await settle_deliveries(tally, stage.records)
        audit = await settle_audit(stage.admin, tally.audited)
        row = build_row(drill.title, tally, received, audit, timed)
        row.notes += stage.notes
        row.notes.append(_other_recoveries(stage, drill.affected))
        row.notes.append(_slowest(tally, drill.affected))
        row.notes.append(_router_errors(stage.router.log, log_start))
        _keep_answers(tally, stage.directory / "answers.ndjson")
    print_row(row)
    return row


async def _timed_recovery(stage: Stage, kind: str) -> str:
    """Recovery of ``kind``; probed on after the load while the router serves but ``kind`` has
    not succeeded yet (a router that exited has nothing to probe: "never")."""
    assert stage.load is not None
    answers = stage.load.tally.answers
    timed = recovery(answers, kind, stage.fault_at, stage.returned_at)
    if timed == "never" and stage.router.running:
        answers = [*answers, *await stage.load.probe(kind, PROBE_SECONDS)]
        timed = recovery(answers, kind, stage.fault_at, stage.returned_at)
        stage.note(f"{kind} had not recovered when the load ended: probed on, {timed}")
    return timed


async def _bring_back(stage: Stage) -> None:
    """Whatever a script left down (a router that exited on its own) runs again for the checks."""
    if not stage.redis.answers():
        await asyncio.to_thread(stage.redis.start)
    if not stage.router.running:
        stage.note("router was not running after the load: started again for the checks")
        stage.router.stop()
        await stage.router.start(seconds=60)
    if not stage.module.running:
        await stage.module.start()
        await wait_registered(stage.admin)


def _other_recoveries(stage: Stage, affected: str) -> str:
    assert stage.load is not None
    kinds = [kind for kind in SUCCESS if kind not in (affected, "command")]
    timed = [
        f"{k} {recovery(stage.load.tally.answers, k, stage.fault_at, stage.returned_at)}"
        for k in kinds
    ]
    return "recovery of the other kinds: " + ", ".join(timed)


def _slowest(tally: Tally, kind: str) -> str:
    kinds = ("event", "command") if kind == "event" else (kind,)
    times = [a.done_at - a.sent_at for a in tally.answers if a.kind in kinds]
    return f"slowest {kind} answer: {max(times, default=0.0):.2f} s"


def _keep_answers(tally: Tally, path: Path) -> None:
    """Every answer as a JSON line, for looking closer at a drill run with ``--keep``."""
    with path.open("w", encoding="utf-8") as output:
        for answer in tally.answers:
            output.write(json.dumps(asdict(answer)) + "\n")


def _router_errors(log: Path, start: int) -> str:
    """What the operator sees: the router's ERROR lines during the drill (text log format)."""
    with log.open("rb") as handle:
        handle.seek(start)
        lines = handle.read().decode(errors="replace").splitlines()
    # "[timestamp] LEVEL module:version EVENT_TYPE ...": the level, not the AAA event type.
    messages = [line.partition("] ")[2] for line in lines if line.startswith("[")]
    errors = [m for m in messages if m.split(" ", 1)[0] in ("ERROR", "CRITICAL")]
    if not errors:
        return "router log: no ERROR line"
    distinct: list[str] = []
    for message in errors:
        if message[:160] not in distinct:
            distinct.append(message[:160])
    shown = " | ".join(distinct[:3])
    return f"router log: {len(errors)} ERROR lines, e.g. {shown}"
