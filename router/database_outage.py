"""PostgreSQL out of reach while a request needs it: a 503 problem, never a 500.

Authentication does not need PostgreSQL (the last known keys answer), so events, actions and
registry reads go on; what truly needs it (key admin, audit queries, communities, registry
writes) answers 503 ``module_unavailable`` with ``Retry-After``. The cause is logged once per
outage: an outage ends when no request has met it for ``QUIET_SECONDS``.
"""

from __future__ import annotations

import time
from typing import Any, cast

from quart import Quart, Response

from flask_core import errors
from flask_core.database import DatabaseUnavailable
from flask_core.logging import get_logger

RETRY_AFTER_SECONDS = 2
QUIET_SECONDS = 10.0
_log = get_logger("router.database")


class OutageNotes:
    """Log the first request an outage refuses, then stay quiet until it is over."""

    def __init__(self, quiet_seconds: float = QUIET_SECONDS) -> None:
        self._quiet = quiet_seconds
        self._last_seen = float("-inf")
        self.refused = 0

    def note(self, error: DatabaseUnavailable) -> None:
        now = time.monotonic()
        if now - self._last_seen >= self._quiet:
            _log.warning(
                "PostgreSQL unreachable (%s); requests that need it get 503",
                type(error.__cause__ or error).__name__,
                extra={"event_type": "ERROR"},
            )
        self._last_seen = now
        self.refused += 1


def install_database_outage_answer(app: Quart) -> None:
    """Answer ``DatabaseUnavailable`` from any view or hook with the one 503 problem."""
    notes = OutageNotes()
    app.extensions["database_outage"] = notes

    @app.errorhandler(DatabaseUnavailable)
    async def _database_unavailable(error: DatabaseUnavailable) -> Response:
        notes.note(error)
        problem = errors.ModuleUnavailable(
            "The database cannot be reached; try again shortly.",
            retry_after=RETRY_AFTER_SECONDS,
        )
        answer: Any = await app.handle_user_exception(problem)
        return cast(Response, answer)
