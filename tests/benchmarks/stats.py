"""Pure figures: percentiles, the median of repeated runs, ratios as the table prints them."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import TypeVar

PERCENTILES = (50.0, 90.0, 99.0)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (the value at or above ``q`` % of the samples); NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = math.ceil(q / 100 * len(ordered))
    return ordered[min(len(ordered), max(rank, 1)) - 1]


def median(values: Sequence[float]) -> float:
    """Median of the runs that produced a figure; NaN runs are left out (NaN when none is left)."""
    kept = [value for value in values if not math.isnan(value)]
    return statistics.median(kept) if kept else math.nan


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline and not math.isnan(baseline) else math.nan


def ratio_text(value: float) -> str:
    """``0.68x``; a dash when there is nothing to compare with."""
    return "—" if math.isnan(value) else f"{value:.2f}x"


def delta_text(value: float) -> str:
    """``+8.30 ms`` / ``-0.12 ms``: what a path adds to the latency of its baseline."""
    return "—" if math.isnan(value) else f"{value:+.2f} ms"


@dataclass(frozen=True)
class Latency:
    """One open-loop run: answers that came back as expected, their percentiles in ms."""

    count: int
    errors: int
    p50: float
    p90: float
    p99: float

    @classmethod
    def of(cls, samples_ms: Sequence[float], errors: int) -> Latency:
        p50, p90, p99 = (percentile(samples_ms, q) for q in PERCENTILES)
        return cls(len(samples_ms), errors, p50, p90, p99)

    def text(self) -> str:
        return f"p50 {self.p50:.2f} / p90 {self.p90:.2f} / p99 {self.p99:.2f} ms"


@dataclass(frozen=True)
class Throughput:
    """One closed-loop (wrk) run: expected answers per second and their latency in ms."""

    rps: float
    errors: int
    p50: float
    p90: float
    p99: float
    seconds: float = math.nan  # how long the run lasted
    cpu_ms: float = math.nan  # server CPU time per expected answer (all its processes)

    def text(self) -> str:
        cpu = "" if math.isnan(self.cpu_ms) else f", {self.cpu_ms:.2f} ms CPU/req"
        return f"{self.rps:,.0f} req/s{cpu}"


Run = TypeVar("Run", Latency, Throughput)


def median_run(runs: Sequence[Run]) -> Run:
    """Field by field median of repeated runs (counts are added up: they are totals)."""
    if not runs:
        raise ValueError("no runs to summarise")
    kind: Callable[..., Run] = type(runs[0])
    values: dict[str, float] = {}
    for item in fields(runs[0]):
        column = [float(getattr(run, item.name)) for run in runs]
        values[item.name] = sum(column) if item.name in ("count", "errors") else median(column)
    for name in ("count", "errors"):
        if name in values:
            values[name] = int(values[name])
    return kind(**values)


def verdict(met: bool) -> str:
    return "met" if met else "**not met**"
