"""Printing answers: aligned tables for people, JSON for scripts.

Every value comes from the router and, in the end, from whoever named a community or a key, so
control characters are shown escaped: a name cannot move the cursor or recolour the terminal.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

MAX_CELL = 60


def cell(value: Any) -> str:
    """One value as table text: lists joined, None as '-', control characters escaped."""
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ",".join(cell(item) for item in value) or "-"
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(value))
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def table(rows: Iterable[dict[str, Any]], columns: Sequence[str], out: TextIO | None = None) -> int:
    """Print ``rows`` under ``columns``; the number of rows."""
    out = out or sys.stdout
    cells = [[cell(row.get(name)) for name in columns] for row in rows]
    widths = [max([len(name), *(len(line[i]) for line in cells)]) for i, name in enumerate(columns)]
    print(
        "  ".join(name.upper().ljust(w) for name, w in zip(columns, widths, strict=True)).rstrip(),
        file=out,
    )
    for line in cells:
        print(
            "  ".join(text.ljust(w) for text, w in zip(line, widths, strict=True)).rstrip(),
            file=out,
        )
    return len(cells)


def record(item: dict[str, Any], out: TextIO | None = None) -> None:
    """One object as ``name: value`` lines."""
    out = out or sys.stdout
    width = max((len(name) for name in item), default=0)
    for name, value in item.items():
        print(f"{name.ljust(width)}  {cell(value)}", file=out)


def as_json(value: Any, out: TextIO | None = None) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False), file=out or sys.stdout)
