"""Input validation on cerberus 1.3; failures become a 400 problem listing the fields."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cerberus import Validator
from cerberus.schema import DefinitionSchema

from .acceptor import Acceptor, compile_acceptor
from .errors import ValidationError

COMMUNITY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
USER_ID = r"^[a-z]+:[A-Za-z0-9_.-]{1,64}$"
# Text PostgreSQL can store: no NUL character, no lone UTF-16 surrogate (JSON allows both).
STORABLE_TEXT = r"^[^\x00\ud800-\udfff]*$"
MODULE_ID = r"^[a-z][a-z0-9_-]{1,62}$"
SEMVER = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)


_STORABLE = re.compile(STORABLE_TEXT)


def is_storable_text(value: str) -> bool:
    """Whether PostgreSQL can store ``value`` as text."""
    return _STORABLE.match(value) is not None


class CoreValidator(Validator):
    """cerberus with the project's extra checks, whose schema is checked once.

    cerberus keeps a root validator's schema as a ``DefinitionSchema`` and its normalisation
    copies it for every document; that copy builds a schema validator and re-expands and
    re-hashes every rule (a fifth of the CPU of an event ingest). The schema has been checked
    and expanded when the validator is built, so from then on it is held as the plain mapping
    of rules cerberus already gives its child validators: same rules, same errors, no
    per-document re-check.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        checked: Any = self.schema
        if isinstance(checked, DefinitionSchema):
            self._schema: Any = checked.schema

    def _check_with_rfc3339(self, field: str, value: Any) -> None:
        if not isinstance(value, str) or parse_rfc3339(value) is None:
            self._error(field, "must be an RFC 3339 timestamp with a time zone")


def parse_rfc3339(value: str) -> datetime | None:
    """Parse an RFC 3339 timestamp with an explicit offset; None when it is not one."""
    if len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _is_rfc3339(value: Any) -> bool:
    return isinstance(value, str) and parse_rfc3339(value) is not None


# What each ``check_with`` of CoreValidator accepts, for the acceptor (``flask_core.acceptor``).
_CHECKS = {"rfc3339": _is_rfc3339}

# Building a cerberus Validator re-checks its schema (~0.3 ms); build one per schema, once.
# The schema object is kept alongside so its id() cannot be reused by another dict.
_Compiled = tuple[Mapping[str, Any], CoreValidator, "Acceptor | None"]
_validators: dict[tuple[int, bool], _Compiled] = {}


def _compiled_for(schema: Mapping[str, Any], allow_unknown: bool) -> _Compiled:
    key = (id(schema), allow_unknown)
    cached = _validators.get(key)
    if cached is None or cached[0] is not schema:
        if len(_validators) >= 256:  # schemas built per call would otherwise pile up
            _validators.clear()
        validator = CoreValidator(schema, allow_unknown=allow_unknown)
        acceptor = compile_acceptor(
            validator.schema, allow_unknown, types=CoreValidator.types_mapping, checks=_CHECKS
        )
        cached = (schema, validator, acceptor)
        _validators[key] = cached
    return cached


def validate_input(
    data: Any, schema: Mapping[str, Any], *, allow_unknown: bool = False
) -> dict[str, Any]:
    """Validate and normalise ``data`` against a cerberus ``schema``."""
    if not isinstance(data, dict):
        raise ValidationError({"body": ["must be a JSON object"]}, "The body must be an object.")
    _, validator, acceptor = _compiled_for(schema, allow_unknown)
    if acceptor is not None and acceptor.accepts(data):
        return dict(data)  # such a schema normalises nothing: cerberus' document is the input
    try:
        ok = validator.validate(data)
    except Exception as exc:  # cerberus can trip on exotic input; treat as invalid
        raise ValidationError({"body": [f"cannot be validated: {type(exc).__name__}"]}) from exc
    if not ok:
        raise ValidationError(_flatten(validator.errors))
    return dict(validator.document)


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, list[str]]:
    """Turn cerberus' nested error tree into ``{"a.b": ["message", ...]}``."""
    flat: dict[str, list[str]] = {}
    for field, problems in tree.items():
        name = f"{prefix}{field}"
        for problem in problems:
            if isinstance(problem, Mapping):
                flat.update(_flatten(problem, f"{name}."))
            else:
                flat.setdefault(name, []).append(str(problem))
    return flat
