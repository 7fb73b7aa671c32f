"""A fast yes for documents cerberus would accept, so cerberus runs only to explain a refusal.

cerberus walks every rule of every field through its generic machinery on each document (and,
for nested ``schema`` rules, builds child validators per document): a tenth of the CPU of an
event ingest. A schema made only of the rules below, which normalise nothing, is compiled once
into plain checks that accept exactly the documents cerberus accepts, mirroring cerberus 1.3:
``nullable`` is always checked and a ``None`` skips every other rule but ``check_with``; ``type``
uses cerberus' own type table; ``regex`` matches with a ``$`` appended; ``allowed`` checks each
item of a non-string iterable; ``minlength``/``maxlength`` apply to iterables; ``schema`` applies
to a mapping (its fields) or a non-string sequence (each item); unknown fields are refused
unless ``allow_unknown``. Any other rule, and the schema is left to cerberus alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

_RULES = frozenset(
    {"type", "required", "nullable", "regex", "allowed", "minlength", "maxlength", "check_with"}
    | {"schema", "meta"}
)

Check = Callable[[Any], bool]


class TypeDefinition(Protocol):
    included_types: tuple[type, ...]
    excluded_types: tuple[type, ...]


class _NotCompilable(Exception):
    """The schema uses something the acceptor does not mirror: cerberus decides alone."""


@dataclass(frozen=True, slots=True)
class Acceptor:
    """``accepts(document)``: True only for a document cerberus accepts under the schema."""

    check: Check

    def accepts(self, document: Mapping[str, Any]) -> bool:
        try:
            return self.check(document)
        except Exception:  # odd input: let cerberus say what is wrong with it
            return False


def compile_acceptor(
    schema: Mapping[str, Any],
    allow_unknown: bool,
    *,
    types: Mapping[str, TypeDefinition],
    checks: Mapping[str, Check],
) -> Acceptor | None:
    """An acceptor for a checked (expanded) cerberus schema; None when it cannot mirror it."""
    try:
        return Acceptor(_Compiler(types, checks).mapping(schema, allow_unknown))
    except _NotCompilable:
        return None


@dataclass(frozen=True, slots=True)
class _Compiler:
    types: Mapping[str, TypeDefinition]
    checks: Mapping[str, Check]

    def mapping(self, schema: Any, allow_unknown: bool) -> Check:
        if not isinstance(schema, Mapping):
            raise _NotCompilable
        fields = {name: self.field(rules, allow_unknown) for name, rules in schema.items()}
        required = [name for name, rules in schema.items() if rules.get("required")]

        def accepts(document: Any) -> bool:
            if not allow_unknown and any(name not in fields for name in document):
                return False
            if any(name not in document for name in required):
                return False
            return all(fields[name](value) for name, value in document.items() if name in fields)

        return accepts

    def field(self, rules: Any, allow_unknown: bool) -> Check:
        if not isinstance(rules, Mapping) or not set(rules) <= _RULES:
            raise _NotCompilable
        nullable = bool(rules.get("nullable", False))
        custom = self._check_with(rules.get("check_with"))
        checks = [*self._value_checks(rules, allow_unknown), *([custom] if custom else [])]

        def accepts(value: Any) -> bool:
            if value is None:  # cerberus drops every rule but check_with after nullable
                return nullable and (custom is None or custom(value))
            return all(check(value) for check in checks)

        return accepts

    def _value_checks(self, rules: Mapping[str, Any], allow_unknown: bool) -> list[Check]:
        found: list[Check] = []
        if "type" in rules:
            found.append(self._type(rules["type"]))
        if "regex" in rules:
            found.append(_regex(rules["regex"]))
        if "allowed" in rules:
            found.append(_allowed(rules["allowed"]))
        if "minlength" in rules:
            found.append(_length(rules["minlength"], at_least=True))
        if "maxlength" in rules:
            found.append(_length(rules["maxlength"], at_least=False))
        if "schema" in rules:
            found.append(self._schema(rules, allow_unknown))
        return found

    def _type(self, names: Any) -> Check:
        listed = (names,) if isinstance(names, str) else tuple(names)
        if not all(isinstance(n, str) and n in self.types for n in listed):
            raise _NotCompilable
        kinds = [(self.types[n].included_types, self.types[n].excluded_types) for n in listed]
        return lambda v: any(isinstance(v, yes) and not isinstance(v, no) for yes, no in kinds)

    def _check_with(self, name: Any) -> Check | None:
        if name is None:
            return None
        if not isinstance(name, str) or name not in self.checks:
            raise _NotCompilable
        return self.checks[name]

    def _schema(self, rules: Mapping[str, Any], allow_unknown: bool) -> Check:
        """A nested schema: a mapping's fields or a sequence's items, told apart by ``type``."""
        kind = rules.get("type")
        if kind == "dict":
            fields = self.mapping(rules["schema"], allow_unknown)
            return lambda v: not isinstance(v, Mapping) or fields(v)
        if kind == "list":
            item = self.field(rules["schema"], allow_unknown)
            return lambda v: not _is_sequence(v) or all(item(i) for i in v)
        raise _NotCompilable


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)


def _regex(pattern: Any) -> Check:
    if not isinstance(pattern, str):
        raise _NotCompilable
    compiled = re.compile(pattern if pattern.endswith("$") else pattern + "$")
    return lambda v: not isinstance(v, str) or compiled.match(v) is not None


def _allowed(allowed: Any) -> Check:
    def accepts(value: Any) -> bool:
        if isinstance(value, Iterable) and not isinstance(value, str):
            return all(item in allowed for item in value)
        return value in allowed

    return accepts


def _length(limit: Any, *, at_least: bool) -> Check:
    if not isinstance(limit, int):
        raise _NotCompilable
    if at_least:
        return lambda v: not isinstance(v, Iterable) or len(v) >= limit  # type: ignore[arg-type]
    return lambda v: not isinstance(v, Iterable) or len(v) <= limit  # type: ignore[arg-type]
