"""Records per time bucket and category (``GET /api/v1/admin/audit/stats``), for charts.

Buckets are dense: every bucket of the range is present, empty ones with zero counts, so a
chart needs no gap filling. Boundaries are aligned to UTC (midnight for days).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_core import errors
from flask_core.database import AsyncDAL
from flask_core.logging import CATEGORIES
from flask_core.timestamps import rfc3339

from .store import AuditFilter

BUCKETS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
# Without ``since``, the range is the last hour of minutes, day of hours, or month of days.
DEFAULT_SPAN = {"minute": timedelta(hours=1), "hour": timedelta(days=1), "day": timedelta(days=30)}
MAX_BUCKETS = 2000
_ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class StatsRange:
    """A validated range: records from ``since`` to ``until`` (exclusive), counted in buckets
    of ``width`` whose first one begins at ``start`` (``since`` rounded down)."""

    since: datetime
    until: datetime
    width: timedelta
    start: datetime

    @classmethod
    def of(cls, bucket: str, since: datetime | None, until: datetime | None) -> StatsRange:
        width = BUCKETS[bucket]
        end = until or datetime.now(UTC)
        begin = since or end - DEFAULT_SPAN[bucket]
        if begin >= end:
            raise errors.ValidationError({"since": ["must be before until"]})
        start = _floor(begin, width)
        if (end - start) / width > MAX_BUCKETS:
            raise errors.ValidationError(
                {"bucket": [f"the range holds more than {MAX_BUCKETS} buckets: use a wider one"]}
            )
        return cls(begin, end, width, start)

    def starts(self) -> list[datetime]:
        moments, moment = [], self.start
        while moment < self.until:
            moments.append(moment)
            moment += self.width
        return moments


def _floor(moment: datetime, width: timedelta) -> datetime:
    return _ORIGIN + ((moment - _ORIGIN) // width) * width


async def audit_stats(dal: AsyncDAL, where: AuditFilter, span: StatsRange) -> list[dict[str, Any]]:
    """``[{"start", "counts": {category: n}}]`` for every bucket of ``span``."""
    clauses, args = replace(where, since=span.since, until=span.until).where(None)
    args += [span.width, _ORIGIN]
    bucket = f'date_bin(${len(args) - 1}::interval, "timestamp", ${len(args)}::timestamptz)'
    rows = await dal.fetch(
        f"SELECT {bucket} AS start, category, count(*) AS n FROM audit_log{clauses}"  # noqa: S608 - clauses are fixed text
        " GROUP BY 1, 2",
        *args,
    )
    counts: dict[datetime, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row["start"], {})[row["category"]] = int(row["n"])
    return [
        {
            "start": rfc3339(start),
            "counts": {c: counts.get(start, {}).get(c, 0) for c in CATEGORIES},
        }
        for start in span.starts()
    ]
