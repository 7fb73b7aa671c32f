"""The results of ``make bench``: rows kept per section in ``docs/performance.json`` (so running
one section refreshes its rows and keeps the others), rendered into ``docs/performance.md``
between two markers (text outside them is hand-written and kept), with a latency chart.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .wrk import wrk_binary

DOCS = Path(__file__).resolve().parents[2] / "docs"
BEGIN = "<!-- make bench: generated from here -->"
END = "<!-- make bench: generated up to here -->"
CHART = "performance-latency.svg"


@dataclass(frozen=True)
class Row:
    """One line of the table: a figure, the baseline measured next to it, and their ratio."""

    path: str
    workers: str
    figure: str
    baseline: str
    ratio: str
    target: str

    def line(self) -> str:
        return f"{self.path} ({self.workers}w): {self.figure} | {self.baseline} | {self.ratio}"


@dataclass(frozen=True)
class Series:
    """Open-loop latency percentiles of one path, for the chart."""

    path: str
    workers: int
    p50: float
    p90: float
    p99: float


@dataclass
class SectionResult:
    rows: list[Row] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)


def machine() -> str:
    wrk = subprocess.run(  # noqa: S603 - our own binary lookup, fixed arguments
        [wrk_binary(), "--version"], capture_output=True, text=True, check=False
    )
    version = (wrk.stdout or wrk.stderr).split(" [")[0].strip()
    return (
        f"{os.cpu_count()} CPU cores (shared), {platform.system()} {platform.release()},"
        f" Python {platform.python_version()}, {version}"
    )


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {"sections": {}}


def store(results: dict[str, Any], name: str, result: SectionResult, ran_at: str) -> None:
    results["sections"][name] = {
        "ran_at": ran_at,
        "machine": machine(),
        "load": round(os.getloadavg()[0], 1),  # how busy the shared machine was meanwhile
        "rows": [asdict(row) for row in result.rows],
        "series": [asdict(item) for item in result.series],
    }


def table(results: dict[str, Any], order: list[str]) -> list[str]:
    lines = [
        "| section | path | workers | figure (median of 3) | same-run baseline | ratio | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in _present(results, order):
        for row in results["sections"][name]["rows"]:
            cells = [name, *(str(row[key]) for key in Row.__dataclass_fields__)]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def render(results: dict[str, Any], order: list[str], method: str) -> str:
    sections = _present(results, order)
    runs = ", ".join(
        f"`{n}` {results['sections'][n]['ran_at']}"
        + (f" (load {load})" if (load := results["sections"][n].get("load")) is not None else "")
        for n in sections
    )
    machines = sorted({results["sections"][n]["machine"] for n in sections})
    parts = [
        BEGIN,
        "",
        f"Latest runs (with the machine's 1-minute load average when each run ended): {runs}.",
        "",
        f"Machine: {'; '.join(machines)}. Load clients run on the same machine.",
        "",
        method.strip(),
        "",
        *table(results, order),
        "",
        f"![latency percentiles per path at a fixed rate]({CHART})",
        "",
        END,
    ]
    return "\n".join(parts)


def write_markdown(path: Path, generated: str) -> None:
    """Replace the generated block of ``path`` (or create the file around it)."""
    if path.exists() and BEGIN in (text := path.read_text()) and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        path.write_text(head + generated + tail)
    else:
        path.write_text(f"# Performance\n\n{generated}\n")


def write_chart(path: Path, results: dict[str, Any], order: list[str]) -> None:
    """Grouped horizontal bars: p50 / p90 / p99 per path and worker count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = [
        Series(**item)
        for name in _present(results, order)
        for item in results["sections"][name]["series"]
    ]
    if not series:
        return
    matplotlib.rcParams["svg.hashsalt"] = "router-hub-bench"  # stable ids: readable diffs
    height = 0.26
    figure, axes = plt.subplots(figsize=(11, 1.0 + 0.55 * len(series)))
    positions = range(len(series))
    for offset, (label, attribute) in enumerate((("p50", "p50"), ("p90", "p90"), ("p99", "p99"))):
        values = [getattr(item, attribute) for item in series]
        axes.barh([p + (offset - 1) * height for p in positions], values, height, label=label)
    labels = [f"{s.path.replace('`', '')} ({s.workers}w)" for s in series]
    axes.set_yticks(list(positions), labels)
    axes.invert_yaxis()
    axes.set_xlabel("latency, ms (open loop, median of 3 runs)")
    axes.set_title("Latency per path at a fixed request rate (w = router workers)")
    axes.legend(loc="lower right")
    axes.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, format="svg", metadata={"Date": None})
    plt.close(figure)


def publish(
    name_results: dict[str, SectionResult], order: list[str], method: str
) -> tuple[Path, dict[str, Any]]:
    """Merge this run's sections into the stored results and rewrite the note and chart."""
    DOCS.mkdir(exist_ok=True)
    stored = DOCS / "performance.json"
    results = load(stored)
    ran_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    for name, result in name_results.items():
        store(results, name, result, ran_at)
    stored.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    write_chart(DOCS / CHART, results, order)
    note = DOCS / "performance.md"
    write_markdown(note, render(results, order, method))
    return note, results


def _present(results: dict[str, Any], order: list[str]) -> list[str]:
    return [name for name in order if name in results["sections"]]
