"""The acceptor says yes to exactly the documents cerberus accepts (checked against cerberus)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_core.validation import CoreValidator, _compiled_for, validate_input
from router.events.models import BATCH_SCHEMA, EVENT_SCHEMA, RESPONSE_SCHEMA

# Every rule the acceptor mirrors, in the shapes cerberus allows them.
EVERY_RULE: dict[str, Any] = {
    "name": {"type": "string", "required": True, "minlength": 2, "maxlength": 8},
    "kind": {"type": ["integer", "boolean"], "nullable": True},
    "ratio": {"type": "number", "meta": {"unit": "%"}},
    "tags": {"type": "list", "allowed": ["a", "b"], "maxlength": 2},
    "when": {"type": "string", "check_with": "rfc3339", "nullable": True},
    "code": {"type": "string", "regex": r"^[a-z]+"},
    "level": {"type": "string", "allowed": ["abc", "x", "abc\n"]},
    "inner": {
        "type": "dict",
        "schema": {"id": {"type": "integer", "required": True}, "note": {"type": "string"}},
    },
    "items": {"type": "list", "schema": {"type": "dict", "schema": {"n": {"type": "integer"}}}},
}

PLAUSIBLE = st.sampled_from(
    [
        "twitch",
        "discord",
        "kick",
        str(uuid.uuid4()),
        "not-a-uuid",
        "twitch:42",
        "nope",
        "chat.message",
        "chat.*",
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00",
        "",
        "ab",
        "abc",
        "abc\n",
        "x" * 200,
        "a",
        "b",
        "\x00",
        {},
        {"text": "hi"},
        {"id": 1},
        {"id": "1"},
        {"n": 1},
        [],
        ["a"],
        ["a", "b", "c"],
        ["c"],
        [{"n": 1}],
        [{"m": 1}],
        [None],
        None,
        0,
        1,
        1.5,
        True,
        False,
    ]
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)
VALUES = PLAUSIBLE | JSON


VALID = {
    "event": {"platform": "twitch", "type": "chat.message", "payload": {}},
    "response": {"platform": "twitch", "channel_id": "c"},
    "rules": {"name": "ab"},
}


def documents(schema: dict[str, Any], valid: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A valid document with a few fields changed, added or taken away."""
    names = st.sampled_from([*schema, "unknown"])

    def changed(changes: dict[str, Any], removed: list[str]) -> dict[str, Any]:
        document = {**valid, **changes}
        for name in removed:
            document.pop(name, None)
        return document

    return st.builds(
        changed, st.dictionaries(names, VALUES, max_size=3), st.lists(names, max_size=1)
    )


def _cerberus_accepts(schema: dict[str, Any], document: Any, allow_unknown: bool) -> bool:
    return bool(CoreValidator(schema, allow_unknown=allow_unknown).validate(document))


def _acceptor_accepts(schema: dict[str, Any], document: Any, allow_unknown: bool) -> bool:
    acceptor = _compiled_for(schema, allow_unknown)[2]
    assert acceptor is not None, "the schema was expected to compile"
    return acceptor.accepts(document)


SAME = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("allow_unknown", [False, True])
@pytest.mark.parametrize(
    ("name", "schema"),
    [("event", EVENT_SCHEMA), ("response", RESPONSE_SCHEMA), ("rules", EVERY_RULE)],
)
@SAME
@given(data=st.data())
def test_the_acceptor_agrees_with_cerberus(
    name: str, schema: dict[str, Any], allow_unknown: bool, data: st.DataObject
) -> None:
    document = data.draw(documents(schema, VALID[name]))
    expected = _cerberus_accepts(schema, document, allow_unknown)
    assert _acceptor_accepts(schema, document, allow_unknown) == expected, document


@SAME
@given(data=st.data())
def test_the_acceptor_agrees_with_cerberus_on_batches(data: st.DataObject) -> None:
    event = documents(EVENT_SCHEMA, VALID["event"]) | VALUES
    batch = st.fixed_dictionaries({"events": st.lists(event, max_size=3) | VALUES})
    document = data.draw(batch | documents(BATCH_SCHEMA, {"events": [VALID["event"]]}))
    expected = _cerberus_accepts(BATCH_SCHEMA, document, False)
    assert _acceptor_accepts(BATCH_SCHEMA, document, False) == expected, document


def test_a_schema_with_rules_it_does_not_mirror_is_left_to_cerberus() -> None:
    schema = {"n": {"type": "integer", "coerce": int}}
    assert _compiled_for(schema, False)[2] is None
    assert validate_input({"n": "3"}, schema) == {"n": 3}  # normalised by cerberus


def test_a_refusal_still_names_its_fields() -> None:
    body = {"platform": "irc", "type": "chat.message", "payload": {}, "occurred_at": None}
    with pytest.raises(Exception) as refused:
        validate_input(body, EVENT_SCHEMA)
    assert set(refused.value.fields) == {"platform", "occurred_at"}  # type: ignore[attr-defined]
