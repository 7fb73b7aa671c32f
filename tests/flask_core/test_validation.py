"""Validation checks a schema once, when its validator is built, and stays as strict after."""

from __future__ import annotations

from typing import Any

import pytest
from cerberus import SchemaError
from cerberus.schema import DefinitionSchema

from flask_core.errors import ValidationError
from flask_core.validation import CoreValidator, validate_input

ITEM: dict[str, Any] = {
    "kind": {"type": "string", "required": True, "allowed": ["a", "b"]},
    "n": {"type": "integer", "min": 0, "nullable": True},
    "payload": {"type": "dict", "required": True},
}
NESTED: dict[str, Any] = {
    "items": {"type": "list", "required": True, "schema": {"type": "dict", "schema": ITEM}},
}


def test_a_bad_schema_still_fails_when_the_validator_is_built() -> None:
    with pytest.raises(SchemaError):
        CoreValidator({"x": {"type": "no-such-type"}})


def test_no_schema_check_per_document(monkeypatch: pytest.MonkeyPatch) -> None:
    validate_input({"kind": "a", "payload": {}}, ITEM)  # builds and caches the validator
    built: list[object] = []
    original = DefinitionSchema.__init__

    def counting(self: DefinitionSchema, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(DefinitionSchema, "__init__", counting)
    for n in range(5):
        assert validate_input({"kind": "b", "n": n, "payload": {}}, ITEM)["n"] == n
    validate_input({"items": [{"kind": "a", "payload": {}}] * 3}, NESTED)
    assert len(built) <= 1  # only NESTED's own validator, built once on first use
    validate_input({"items": [{"kind": "a", "payload": {}}]}, NESTED)
    assert len(built) <= 1


def test_errors_are_the_same_on_every_call() -> None:
    for _ in range(3):
        with pytest.raises(ValidationError) as caught:
            validate_input({"kind": "c", "n": -1, "extra": 1}, ITEM)
        assert set(caught.value.fields) == {"kind", "n", "extra", "payload"}


def test_nested_errors_name_the_item_and_field() -> None:
    for _ in range(2):
        with pytest.raises(ValidationError) as caught:
            validate_input({"items": [{"kind": "a", "payload": {}}, {"kind": "x"}]}, NESTED)
        assert caught.value.fields == {
            "items.1.kind": ["unallowed value x"],
            "items.1.payload": ["required field"],
        }


def test_the_callers_schema_is_left_as_it_was() -> None:
    schema: dict[str, Any] = {"name": {"type": "string", "required": True}}
    before = repr(schema)
    validate_input({"name": "x"}, schema)
    with pytest.raises(ValidationError):
        validate_input({}, schema)
    assert repr(schema) == before
