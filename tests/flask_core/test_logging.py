from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from flask_core.logging import (
    AAAJsonFormatter,
    AAATextFormatter,
    bound_context,
    log_audit_event,
)


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
