from __future__ import annotations

import io
import json
import logging
import multiprocessing
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from quart import Quart

from flask_core import errors
from flask_core.api import install_request_plumbing
from flask_core.auth import PUBLIC, public
from flask_core.logging import (
    MESSAGE_LIMIT,
    AAAJsonFormatter,
    AAATextFormatter,
    ListeningLine,
    bound_context,
    log_audit_event,
)
from flask_core.routes import route
from flask_core.timestamps import rfc3339


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("flask_core.aaa")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield stream, handler
    logger.removeHandler(handler)
    logger.setLevel(previous)


def test_json_line_has_the_aaa_fields_and_context(
    captured: tuple[io.StringIO, logging.Handler],
) -> None:
    stream, handler = captured
    handler.setFormatter(AAAJsonFormatter())
    with bound_context(correlation_id="req-1", community="c1"):
        log_audit_event("AUTHZ", None, "twitch:42", "POST /x", "denied", reason="scope")
    line = json.loads(stream.getvalue())
    expected = {
        "event_type": "AUTHZ",
        "community": "c1",
        "user": "twitch:42",
        "action": "POST /x",
        "result": "denied",
        "reason": "scope",
        "correlation_id": "req-1",
    }
    assert expected.items() <= line.items()
    assert {"timestamp", "level", "module", "version"} <= set(line)


def test_text_line_is_the_waddlebot_form(captured: tuple[io.StringIO, logging.Handler]) -> None:
    stream, handler = captured
    handler.setFormatter(AAATextFormatter())
    log_audit_event("AUDIT", "c9", "u1", "keys.create", "success")
    line = stream.getvalue().strip()
    assert line.startswith("[")
    assert " INFO " in line
    assert "AUDIT community=c9 user=u1 action=keys.create result=success" in line


def test_secrets_in_details_are_redacted(captured: tuple[io.StringIO, logging.Handler]) -> None:
    stream, handler = captured
    handler.setFormatter(AAAJsonFormatter())
    log_audit_event(
        "AUDIT",
        "c1",
        None,
        "keys.rotate",
        "success",
        api_key="rh_live_secret",
        nested={"token": "jwt-value", "name": "kept"},
    )
    text = stream.getvalue()
    assert "rh_live_secret" not in text and "jwt-value" not in text
    assert json.loads(text)["details"]["nested"]["name"] == "kept"


def test_unknown_category_is_refused() -> None:
    with pytest.raises(ValueError):
        log_audit_event("OTHER", None, None, "x", "y")


def _record(message: str, *args: object, name: str = "x") -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, message, args, None)


def test_text_line_ends_with_the_message_short_and_on_one_line() -> None:
    formatter = AAATextFormatter()
    with bound_context(correlation_id="0" * 32):
        line = formatter.format(_record("embedded Redis at %s\nready", "unix:///tmp/r.sock"))
    assert line.endswith("result=- embedded Redis at unix:///tmp/r.sock ready")
    assert "correlation_id" not in line  # kept in the JSON form, too long to read here
    long = formatter.format(_record("x" * 1000))
    assert len(long.split("result=- ", 1)[1]) == MESSAGE_LIMIT
    assert long.endswith("…")


def test_hypercorn_running_on_becomes_the_one_listening_line() -> None:
    record = _record("Running on http://127.0.0.1:8010 (CTRL + C to quit)")
    assert ListeningLine().filter(record)
    assert record.getMessage() == "listening on http://127.0.0.1:8010"
    assert AAATextFormatter().format(record).split()[3] == "SYSTEM"
    other = _record("Running the migrations")
    assert ListeningLine().filter(other) and other.getMessage() == "Running the migrations"


def test_a_worker_process_leaves_the_listening_line_to_its_parent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(multiprocessing, "parent_process", lambda: object())
    record = _record("Running on http://127.0.0.1:8000 (CTRL + C to quit)")
    assert not ListeningLine().filter(record)


async def test_probes_and_routine_calls_log_at_debug_unless_they_fail(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Quart(__name__)
    install_request_plumbing(app)

    @app.get("/health")
    @public
    async def health() -> str:
        return "ok"

    @app.post("/beat/<outcome>")
    @route(guard=PUBLIC, routine=True)
    async def beat(outcome: str) -> str:
        if outcome == "gone":
            raise errors.NotFound("no lease")
        return "ok"

    @app.post("/work")
    @public
    async def work() -> str:
        return "ok"

    client = app.test_client()
    with caplog.at_level(logging.DEBUG, logger="flask_core.request"):
        await client.get("/health")
        await client.post("/beat/fine")
        await client.post("/beat/gone")
        await client.post("/work")
    lines = [(getattr(r, "action", None), r.levelno) for r in caplog.records]
    assert lines == [
        ("GET /health", logging.DEBUG),
        ("POST /beat/<outcome>", logging.DEBUG),
        ("POST /beat/<outcome>", logging.INFO),  # a refused heartbeat is worth reading
        ("POST /work", logging.INFO),
    ]


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
@settings(max_examples=500)
def test_the_line_timestamp_reads_as_the_datetime_form(created: float) -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "", None, None)
    record.created = created
    expected = rfc3339(datetime.fromtimestamp(created, tz=UTC))
    assert json.loads(AAAJsonFormatter().format(record))["timestamp"] == expected


@pytest.mark.parametrize(
    "created", [1_700_000_000.0, 1_700_000_000.9995, 1_700_000_000.9999996, 1_700_000_000.0005]
)
def test_the_line_timestamp_rounds_like_datetime_at_the_edges(created: float) -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "", None, None)
    record.created = created
    expected = rfc3339(datetime.fromtimestamp(created, tz=UTC))
    assert AAATextFormatter().format(record).startswith(f"[{expected}]")
