"""flask_core.jsonio: the strict reader refuses what SPEC §2 lists, the writer stays valid."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from quart import Quart

from flask_core import jsonio
from flask_core.api import install_request_plumbing, read_json
from flask_core.auth import public
from tests.support.json_values import JSON_VALUES


@pytest.mark.parametrize(
    "text",
    [
        '"\\ud800"',
        '{"a": "x\\udfffy"}',
        '{"\\ud83d": 1}',
        '["\\ud83d\\u0041"]',  # a high surrogate followed by something else is still lone
        "NaN",
        '{"a": Infinity}',
        "[-Infinity]",
        "1e999",
        '{"n": -1e400}',
        "1" * 5000,  # more digits than Python turns into an int
        "[" * 65 + "]" * 65,
        '{"a":' * 65 + "1" + "}" * 65,
        "[" * 100_000 + "]" * 100_000,
        "[" * 100_000,
        "",
        "{",
        '{"a": 1} x',
        "\ufeff{}",
    ],
)
def test_the_reader_refuses_hostile_json(text: str) -> None:
    with pytest.raises(jsonio.InvalidJSON) as refused:
        jsonio.loads(text)
    assert refused.value.status_code == 400
    with pytest.raises(jsonio.InvalidJSON):
        jsonio.loads(text.encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize(
    "raw", [b'"\xed\xa0\x80"', b'"\xff"', b'{"a": "\xc3"}', b'"\xf4\x90\x80\x80"']
)
def test_the_reader_refuses_invalid_utf8(raw: bytes) -> None:
    with pytest.raises(jsonio.InvalidJSON):
        jsonio.loads(raw)


def test_the_reader_refuses_a_raw_lone_surrogate_in_text() -> None:
    with pytest.raises(jsonio.InvalidJSON):
        jsonio.loads('"\ud800"')


def _nested_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"\\ud83d\\ude00"', "\U0001f600"),  # a valid pair is one code point
        ('"\\\\ud800"', "\\ud800"),  # an escaped backslash: literal text, not a surrogate
        ("[" * 64 + "]" * 64, _nested_list(64)),
        ("1e308", 1e308),
        ("-0.0", -0.0),
        ('{"big": 123456789012345678901234567890}', {"big": 123456789012345678901234567890}),
        ('{"a": [1, 2.5, "é", null, true]}', {"a": [1, 2.5, "é", None, True]}),
    ],
)
def test_the_reader_accepts_strict_json(text: str, value: Any) -> None:
    assert jsonio.loads(text) == value
    assert jsonio.loads(text.encode()) == value


@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, {"a": -math.inf}, "\ud800", {"\udc00": 1}, {1j: 2}, object(), b"x"],
)
def test_the_writer_refuses_what_has_no_strict_json_form(value: Any) -> None:
    with pytest.raises(jsonio.UnserializableJSON):
        jsonio.dumps(value)
    with pytest.raises(jsonio.UnserializableJSON):
        jsonio.dumpb(value)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_what_the_writer_emits_the_reader_takes_back(value: Any) -> None:
    try:
        encoded = jsonio.dumpb(value)
    except jsonio.UnserializableJSON:
        # only strings holding lone surrogates have no strict form
        assert "\\ud" in json.dumps(value).lower()
        return
    assert jsonio.loads(encoded) == value
    assert jsonio.loads(jsonio.dumps(value)) == value


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "replace")))
def test_the_reader_never_fails_other_than_invalid_json(data: bytes) -> None:
    try:
        value = jsonio.loads(data)
    except jsonio.InvalidJSON:
        return
    assert jsonio.loads(jsonio.dumpb(value)) == value  # anything accepted has a strict form


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=3000), st.sampled_from(["[", '{"a":']))
def test_depth_is_refused_past_64_levels_whatever_it_is(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    text = opener * depth + "0" + closer * depth
    if depth <= jsonio.MAX_DEPTH:
        jsonio.loads(text)
    else:
        with pytest.raises(jsonio.InvalidJSON):
            jsonio.loads(text)


async def test_read_json_turns_hostile_bodies_into_400_problems() -> None:
    app = Quart("strict")
    install_request_plumbing(app)

    @app.post("/echo")
    @public
    async def echo() -> Any:
        return {"got": await read_json()}

    client = app.test_client()
    headers = {"Content-Type": "application/json"}
    for body in (
        b'{"a": "\\ud800"}',
        b"[NaN]",
        b"1e999",
        b"[" * 900 + b"]" * 900,
        b'"\xed\xa0\x80"',
    ):
        response = await client.post("/echo", data=body, headers=headers)
        assert response.status_code == 400, body[:20]
        problem = await response.get_json()
        assert problem["error"] == "invalid_input"
    ok = await client.post("/echo", data=b'{"x": "\\ud83d\\ude00"}', headers=headers)
    assert ok.status_code == 200 and (await ok.get_json()) == {"got": {"x": "\U0001f600"}}


def test_the_writer_can_stringify_other_types_but_never_emits_nan() -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 1, 2, tzinfo=UTC)
    assert jsonio.dumpb({"at": moment}, default=str) == b'{"at":"2026-01-02 00:00:00+00:00"}'
    with pytest.raises(jsonio.UnserializableJSON):
        jsonio.dumpb({"at": moment, "x": math.nan}, default=str)
