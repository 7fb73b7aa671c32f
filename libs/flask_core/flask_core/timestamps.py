"""RFC 3339 text for a moment: one form on the wire, one lossless form for stored hashes."""

from __future__ import annotations

from datetime import UTC, datetime


def _utc(moment: datetime) -> datetime:
    # A naive datetime here is one the code built in UTC (never local time).
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    """The wire form: UTC, milliseconds, ``Z`` (``2026-01-01T00:00:00.123Z``)."""
    return _utc(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_rfc3339() -> str:
    """The current moment in the wire form."""
    return rfc3339(datetime.now(UTC))


def rfc3339_exact(moment: datetime) -> str:
    """UTC with microseconds: for text that must survive a round trip unchanged (hash input)."""
    return _utc(moment).isoformat(timespec="microseconds").replace("+00:00", "Z")
