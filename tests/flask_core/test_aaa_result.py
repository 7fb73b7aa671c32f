"""The AAA ``result`` is the WaddleBot word, with the HTTP status beside it (SPEC §10).

The finding: request lines said ``"result": "403"``; the contract wants ``denied`` with a
separate ``status``.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from quart import Quart, Response

from flask_core import errors
from flask_core.api import create_response, install_request_plumbing
from flask_core.logging import AAAJsonFormatter, AAATextFormatter, aaa_result

REQUEST_LOGGER = "flask_core.request"


@pytest.mark.parametrize(
    ("status", "word"),
    [
        (200, "success"),
        (201, "success"),
        (204, "success"),
        (302, "success"),
        (401, "denied"),
        (403, "denied"),
        (429, "denied"),
        (400, "failure"),
        (404, "failure"),
        (409, "failure"),
        (500, "failure"),
        (502, "failure"),
        (504, "failure"),
    ],
)
def test_each_status_has_its_word(status: int, word: str) -> None:
    assert aaa_result(status) == word


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AAAJsonFormatter())
    logger = logging.getLogger(REQUEST_LOGGER)
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(previous)


def _app() -> Quart:
    app = Quart("aaa")
    install_request_plumbing(app)

    @app.get("/ok")
    async def ok() -> Response:
        return create_response({"ok": True})

    @app.get("/refused")
    async def refused() -> Response:
        raise errors.Forbidden(reason="not yours")

    @app.get("/limited")
    async def limited() -> Response:
        raise errors.RateLimited()

    @app.get("/broken")
    async def broken() -> Response:
        raise RuntimeError("boom")

    return app


async def test_request_lines_carry_the_word_and_the_status(lines: io.StringIO) -> None:
    client = _app().test_client()
    for path in ("/ok", "/refused", "/limited", "/missing", "/broken"):
        await client.get(path)
    seen = [json.loads(line) for line in lines.getvalue().splitlines()]
    request_lines = [line for line in seen if line["logger"] == REQUEST_LOGGER and line["status"]]
    assert [(line["result"], line["status"]) for line in request_lines] == [
        ("success", 200),
        ("denied", 403),
        ("denied", 429),
        ("failure", 404),
        ("failure", 500),
    ]


def test_the_text_form_shows_the_word_then_the_status() -> None:
    record = logging.LogRecord(REQUEST_LOGGER, logging.INFO, __file__, 1, "", None, None)
    record.event_type, record.action, record.result, record.status = (
        "AUTHZ",
        "GET /x",
        "denied",
        403,
    )
    line = AAATextFormatter().format(record)
    assert "action=GET /x result=denied status=403" in line
