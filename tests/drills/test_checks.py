"""The drills' arithmetic: a lost event, a second delivery, a missing success are all seen."""

from __future__ import annotations

import json
from pathlib import Path

from .checks import AuditCheck, read_records, recovery
from .load import Answer, Tally
from .report import build_row


def _records(path: Path, *lines: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"kind": "ev')
    return path


def test_an_accepted_event_never_delivered_is_lost_and_a_second_delivery_counted(
    tmp_path: Path,
) -> None:
    tally = Tally(accepted={"a", "b", "c"}, audited={"r1", "r2"})
    received = read_records(
        _records(
            tmp_path / "received.ndjson",
            {"kind": "event", "event_id": "a"},
            {"kind": "event", "event_id": "a"},
            {"kind": "event", "event_id": "b"},
            {"kind": "action", "event_id": "b"},
            {"kind": "action", "event_id": "b"},
        )
    )
    row = build_row("drill", tally, received, AuditCheck(found=1, chain_ok=False, checked=9), "-")
    assert (row.accepted, row.delivered, row.lost) == (3, 2, 1)
    assert (row.duplicate_deliveries, row.commands_run_twice) == (1, 1)
    assert (row.audit_expected, row.audit_found, row.audit_lost) == (2, 1, 1)
    assert row.chain == "BROKEN (9 rows)"


def test_recovery_is_timed_from_the_return_to_the_first_success_after_the_last_failure() -> None:
    answers = [
        Answer("action", 1.0, 1.1, 200),
        Answer("action", 5.0, 5.5, 503),  # during the outage
        Answer("action", 9.5, 10.4, 200),  # a lucky one: the next still fails
        Answer("action", 10.1, 10.2, None),
        Answer("action", 10.2, 10.9, 200),
    ]
    assert recovery(answers, "action", fault_at=4.0, returned_at=10.0) == "0.90 s"
    assert recovery(answers, "action", fault_at=10.15, returned_at=10.0) == "at once"
    assert recovery([*answers, Answer("action", 12, 12.1, 502)], "action", 4.0, 10.0) == "never"
