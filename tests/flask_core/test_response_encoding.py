"""Response bodies (``api.encode_json``) read as they did with ``json.dumps``, on its fast path
(orjson) and its fallback alike."""

from __future__ import annotations

import enum
import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings

from flask_core.api import dumps, encode_json
from tests.support.json_values import JSON_VALUES


def as_before(value: Any) -> bytes:
    return dumps(value).encode("utf-8", "backslashreplace")


class Colour(enum.StrEnum):
    RED = "red"


@dataclass
class Point:
    x: int


@pytest.mark.parametrize(
    "value",
    [
        {"status": "healthy", "uptime_seconds": 12.5, "dependencies": {"redis": "connected"}},
        {"text": "é ü 😀 \u2028", "n": None, "ok": True, "list": [1, 2.5, "x"]},
        {"at": datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC), "day": date(2026, 1, 2)},
        {"id": uuid.UUID(int=7), "colour": Colour.RED, "point": Point(1)},
        {"amount": Decimal("1.50"), "raw": b"x", "set": {1}},
        {"big": 2**64, "small": -(2**63) - 1},
        {1: "int key", "k": "v"},
        {"echo": "\ud800"},
        [[[[["deep"]]]]],
        "",
        0,
    ],
)
def test_bodies_are_the_bytes_json_dumps_wrote(value: Any) -> None:
    assert encode_json(value) == as_before(value)


def test_nan_and_infinities_become_null_instead_of_invalid_json() -> None:
    assert json.loads(encode_json({"a": math.nan, "b": [math.inf, -math.inf]})) == {
        "a": None,
        "b": [None, None],
    }


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_any_json_value_reads_back_as_before(value: Any) -> None:
    # Floats may be spelled differently (1e+16 / 1e16); the values read back are the same.
    assert json.loads(encode_json(value)) == json.loads(as_before(value))
