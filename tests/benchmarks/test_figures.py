"""The benchmark's pure parts: percentiles, medians of runs, ratios, wrk's report, the note.

Only the arithmetic and the text are checked here; no speed is ever asserted.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.benchmarks.report import BEGIN, END, Row, SectionResult, table, write_markdown
from tests.benchmarks.stats import (
    Latency,
    Throughput,
    delta_text,
    median,
    median_run,
    percentile,
    ratio,
    ratio_text,
)
from tests.benchmarks.wrk import parse_report, script_text


def test_percentile_is_nearest_rank() -> None:
    values = [float(n) for n in range(100, 0, -1)]  # 1..100, unsorted
    assert percentile(values, 50) == 50.0
    assert percentile(values, 90) == 90.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))


def test_median_leaves_out_runs_without_a_figure() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0]) == 2.5
    assert median([math.nan, 5.0, 1.0]) == 3.0
    assert math.isnan(median([math.nan]))


def test_median_run_takes_each_field_median_and_adds_counts() -> None:
    runs = [Latency(100, 1, 2.0, 4.0, 9.0), Latency(90, 0, 1.0, 5.0, 30.0),
            Latency(95, 2, 3.0, 3.0, 10.0)]  # fmt: skip
    summary = median_run(runs)
    assert summary == Latency(285, 3, 2.0, 4.0, 10.0)
    assert isinstance(summary.count, int)
    best = median_run([Throughput(1000.0, 0, 1, 2, 3), Throughput(1200.0, 4, 2, 3, 4),
                       Throughput(900.0, 0, 3, 4, 5)])  # fmt: skip
    assert best == Throughput(1000.0, 4, 2, 3, 4)
    with pytest.raises(ValueError):
        median_run([])


def test_ratios_and_deltas_as_the_table_prints_them() -> None:
    assert ratio_text(ratio(1101.0, 1619.0)) == "0.68x"
    assert ratio_text(ratio(5.0, 0.0)) == "—"
    assert delta_text(8.3) == "+8.30 ms"
    assert delta_text(-0.125) == "-0.12 ms"
    assert delta_text(math.nan) == "—"


def test_latency_of_samples() -> None:
    summary = Latency.of([float(n) for n in range(1, 201)], errors=3)
    assert (summary.count, summary.errors, summary.p50, summary.p99) == (200, 3, 100.0, 198.0)


def test_parse_report_counts_only_expected_answers() -> None:
    output = (
        "Running 5s test @ http://127.0.0.1:1/health\n"
        'WRK_JSON {"requests": 5200, "duration_us": 5000000, "connect": 0, "read": 1,'
        ' "write": 0, "status": 200, "timeout": 2, "p50_us": 1500, "p90_us": 4000,'
        ' "p99_us": 12000}\n'
    )
    report = parse_report(output)
    assert report.rps == 1000.0  # 5,000 expected answers in 5 s; the 200 non-2xx left out
    assert report.errors == 203
    assert (report.p50, report.p90, report.p99) == (1.5, 4.0, 12.0)
    with pytest.raises(ValueError, match="no wrk report"):
        parse_report("unable to connect")


def test_every_wrk_script_ends_with_the_report() -> None:
    assert script_text(None).lstrip().startswith("--")
    events = script_text("events")
    assert "wrk.format" in events and events.rstrip().endswith("end")
    assert events.index("function request") < events.index("done = function")


def test_markdown_keeps_the_hand_written_text(tmp_path: Path) -> None:
    note = tmp_path / "performance.md"
    write_markdown(note, f"{BEGIN}\nfirst\n{END}")
    assert note.read_text().startswith("# Performance")
    note.write_text(note.read_text() + "\n## Changes\n\nkept by hand\n")
    write_markdown(note, f"{BEGIN}\nsecond\n{END}")
    text = note.read_text()
    assert "second" in text and "first" not in text and "kept by hand" in text


def test_table_lists_sections_in_order() -> None:
    row = Row("router `GET /health`", "1", "1,000 req/s", "bare hello 1,500 req/s", "0.67x", "t")
    results = {"sections": {"events": {"rows": [row.__dict__]}, "health": {"rows": [row.__dict__]}}}
    lines = table(results, ["health", "events", "memory"])
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| health", "| events"]
    assert SectionResult().rows == []
