"""The cause of a PostgreSQL outage is logged once per outage, not once per refused request."""

from __future__ import annotations

import logging

import pytest

from flask_core.database import DatabaseUnavailable
from router.database_outage import OutageNotes


def _unreachable() -> DatabaseUnavailable:
    try:
        raise DatabaseUnavailable("PostgreSQL unreachable") from ConnectionRefusedError(111, "no")
    except DatabaseUnavailable as error:
        return error


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "router.database"]


def test_one_line_per_outage(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="router.database")
    notes = OutageNotes(quiet_seconds=60)
    for _ in range(50):
        notes.note(_unreachable())
    assert notes.refused == 50
    assert _lines(caplog) == [
        "PostgreSQL unreachable (ConnectionRefusedError); requests that need it get 503"
    ]


def test_a_new_outage_after_a_quiet_spell_is_logged_again(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="router.database")
    notes = OutageNotes(quiet_seconds=0)
    notes.note(_unreachable())
    notes.note(_unreachable())
    assert len(_lines(caplog)) == 2
