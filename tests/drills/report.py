"""One row per drill: built from the load's tally and the checks, printed as a table."""

from __future__ import annotations

from dataclasses import dataclass, field

from .checks import AuditCheck, Received
from .load import EVENT_KINDS, Tally

COLUMNS = (
    "drill",
    "requests",
    "5xx",
    "no answer",
    "events accepted / delivered",
    "lost",
    "duplicates",
    "audit expected / found",
    "chain",
    "recovery",
)


@dataclass
class DrillRow:
    name: str
    requests: int
    server_errors: int
    no_answer: int
    accepted: int
    delivered: int
    lost: int
    duplicate_deliveries: int
    accepted_again: int
    commands_run_twice: int
    resent: int
    audit_expected: int
    audit_found: int
    chain: str
    recovery: str
    notes: list[str] = field(default_factory=list)

    @property
    def audit_lost(self) -> int:
        return self.audit_expected - self.audit_found

    def duplicates(self) -> str:
        if not (self.duplicate_deliveries or self.accepted_again or self.commands_run_twice):
            return "0"
        return (
            f"{self.duplicate_deliveries} deliveries, {self.accepted_again} of {self.resent} "
            f"re-sent accepted again, {self.commands_run_twice} commands ran twice"
        )

    def cells(self) -> tuple[str, ...]:
        return (
            self.name,
            str(self.requests),
            str(self.server_errors),
            str(self.no_answer),
            f"{self.accepted} / {self.delivered}",
            str(self.lost),
            self.duplicates(),
            f"{self.audit_expected} / {self.audit_found}",
            self.chain,
            self.recovery,
        )


def build_row(
    name: str, tally: Tally, received: Received, audit: AuditCheck, recovery: str
) -> DrillRow:
    delivered = sum(1 for event_id in tally.accepted if event_id in received.deliveries)
    extra = sum(count - 1 for count in received.deliveries.values() if count > 1)
    twice = sum(1 for count in received.actions.values() if count > 1)
    chain = "unknown" if audit.chain_ok is None else ("ok" if audit.chain_ok else "BROKEN")
    return DrillRow(
        name=name,
        requests=len(tally.answers),
        server_errors=tally.count(lambda a: a.status is not None and a.status >= 500),
        no_answer=tally.count(lambda a: a.status is None),
        accepted=len(tally.accepted),
        delivered=delivered,
        lost=len(tally.accepted) - delivered,
        duplicate_deliveries=extra,
        accepted_again=len(tally.accepted_again),
        commands_run_twice=twice,
        resent=tally.resent,
        audit_expected=len(tally.audited),
        audit_found=audit.found,
        chain=f"{chain} ({audit.checked} rows)",
        recovery=recovery,
        notes=[_statuses(tally)],
    )


def _statuses(tally: Tally) -> str:
    parts = []
    for kind, counts in sorted(tally.statuses().items()):
        shown = ", ".join(f"{status}: {n}" for status, n in sorted(counts.items()))
        parts.append(f"{kind} {{{shown}}}")
    events = sum(1 for a in tally.answers if a.kind in EVENT_KINDS)
    return f"{events} events sent; answers by kind: " + "; ".join(parts)


def markdown(rows: list[DrillRow]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def print_row(row: DrillRow) -> None:
    print(f"\n== {row.name}", flush=True)
    for column, cell in zip(COLUMNS[1:], row.cells()[1:], strict=True):
        print(f"   {column:<28} {cell}")
    for note in row.notes:
        print(f"   - {note}")
    print(flush=True)


def print_table(rows: list[DrillRow]) -> None:
    print("\n" + markdown(rows), flush=True)
    for row in rows:
        if row.notes:
            print(f"\n{row.name}:")
            for note in row.notes:
                print(f"  - {note}")
