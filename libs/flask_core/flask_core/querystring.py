"""Typed reading of a query string for list and lookup routes; a bad value is a 400 naming it.

A route declares its parameters once (``@route(query={...})`` with ``QueryParam`` entries); that
declaration documents them in the OpenAPI and lets ``declared_query()`` refuse any parameter the
route does not know (a misspelt filter must not silently return everything).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from quart import request

from . import errors
from .routes import current_meta
from .validation import is_storable_text, parse_rfc3339

MAX_TEXT = 256
_DIGITS = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True, slots=True)
class QueryParam:
    """One declared query parameter, as the OpenAPI describes it."""

    description: str
    kind: str = "string"  # "string", "integer" or "date-time"
    choices: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None

    def schema(self) -> dict[str, Any]:
        if self.kind == "integer":
            bounds = {"minimum": self.minimum, "maximum": self.maximum}
            return {"type": "integer", **{k: v for k, v in bounds.items() if v is not None}}
        schema: dict[str, Any] = {"type": "string"}
        if self.kind == "date-time":
            schema["format"] = "date-time"
        if self.choices is not None:
            schema["enum"] = list(self.choices)
        return schema


def declared_query() -> QueryString:
    """This request's query string; 400 naming every parameter the route did not declare."""
    declared = current_meta().query or {}
    unknown = sorted(name for name in request.args if name not in declared)
    if unknown:
        known = ", ".join(declared) or "none"
        raise errors.ValidationError(
            {name: [f"unknown parameter (known: {known})"] for name in unknown},
            detail=f"Unknown query parameter(s): {', '.join(unknown)}.",
        )
    return QueryString(request.args)


class QueryString:
    """The parameters of one request; absent and empty values read the same (not given)."""

    def __init__(self, args: Mapping[str, str]) -> None:
        self._args = args

    def _raw(self, name: str) -> str | None:
        value = self._args.get(name)
        return value if value else None

    def text(
        self, name: str, *, max_length: int = MAX_TEXT, pattern: re.Pattern[str] | None = None
    ) -> str | None:
        """Storable text of at most ``max_length`` characters (matching ``pattern``), or None."""
        value = self._raw(name)
        if value is None:
            return None
        if len(value) > max_length or not is_storable_text(value):
            raise errors.ValidationError({name: [f"at most {max_length} storable characters"]})
        if pattern is not None and not pattern.match(value):
            raise errors.ValidationError({name: [f"must match {pattern.pattern}"]})
        return value

    def required_text(self, name: str, *, max_length: int = MAX_TEXT) -> str:
        value = self._raw(name)
        if value is None or len(value) > max_length or not is_storable_text(value):
            raise errors.ValidationError({name: [f"required, 1..{max_length} characters"]})
        return value

    def choice(self, name: str, allowed: tuple[str, ...]) -> str | None:
        value = self.text(name)
        if value is not None and value not in allowed:
            raise errors.ValidationError({name: [f"must be one of {', '.join(allowed)}"]})
        return value

    def moment(self, name: str) -> datetime | None:
        """An RFC 3339 timestamp with a time zone, or None."""
        value = self.text(name)
        if value is None:
            return None
        moment = parse_rfc3339(value)
        if moment is None:
            raise errors.ValidationError({name: ["must be an RFC 3339 timestamp with a time zone"]})
        return moment

    def integer(self, name: str, *, default: int | None, low: int, high: int) -> int | None:
        """A decimal integer in ``low..high``, or ``default`` when not given."""
        value = self._raw(name)
        if value is None:
            return default
        # ASCII digits only: str.isdigit also takes superscripts, which int() refuses.
        if not _DIGITS.fullmatch(value) or not low <= int(value) <= high:
            raise errors.ValidationError({name: [f"must be an integer from {low} to {high}"]})
        return int(value)
