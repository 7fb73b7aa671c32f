"""The params of each quotes action, checked before anything reaches PostgreSQL.

A value PostgreSQL cannot take (an ``integer`` over 2**31 - 1, text with NUL) would otherwise come
back as a 500, and five 500s open the router's breaker for every community (SPEC §11: out-of-
range or malformed params get 400 with ``fields``). Unknown members are allowed: chat commands
send ``args`` alongside ``text``.
"""

from __future__ import annotations

import re
from typing import Any

from flask_core import errors
from flask_core.validation import STORABLE_TEXT, validate_input

MAX_QUOTE_LENGTH = 500
MAX_NUMBER = 2**31 - 1  # quotes.number is a PostgreSQL integer
MAX_LIST_LIMIT = 200
MAX_OFFSET = 2**31 - 1
_NUMBER_TEXT = re.compile(r"^#?([0-9]{1,10})$", re.ASCII)

_INTEGER = {"type": "integer", "nullable": False}

ADD = {
    "text": {
        "type": "string",
        "required": True,
        "regex": STORABLE_TEXT,
        "maxlength": 4 * MAX_QUOTE_LENGTH,  # surrounding blanks are trimmed, then re-checked
    },
}
RANDOM = {
    "number": {**_INTEGER, "min": 1, "max": MAX_NUMBER},
    "text": {"type": "string", "nullable": True, "maxlength": 64},
}
LIST = {
    "limit": {**_INTEGER, "min": 1, "max": MAX_LIST_LIMIT},
    "offset": {**_INTEGER, "min": 0, "max": MAX_OFFSET},
}


def _checked(params: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    # cerberus counts True as an integer; a flag is never a quote number.
    for name in schema:
        if isinstance(params.get(name), bool):
            raise errors.ValidationError({f"params.{name}": ["must be an integer"]})
    try:
        return validate_input(params, schema, allow_unknown=True)
    except errors.ValidationError as error:
        raise errors.ValidationError({f"params.{k}": v for k, v in error.fields.items()}) from None


def quote_text(params: dict[str, Any]) -> str:
    """The text of a new quote: 1 to 500 storable characters once trimmed."""
    text = str(_checked(params, ADD)["text"]).strip()
    if not text:
        raise errors.ValidationError({"params.text": ["a quote needs some text"]})
    if len(text) > MAX_QUOTE_LENGTH:
        raise errors.ValidationError({"params.text": [f"at most {MAX_QUOTE_LENGTH} characters"]})
    return text


def quote_number(params: dict[str, Any]) -> int | None:
    """The quote asked for (``number``, or ``text`` such as ``#12`` from ``!quote #12``)."""
    checked = _checked(params, RANDOM)
    if checked.get("number") is not None:
        return int(checked["number"])
    text = (checked.get("text") or "").strip()
    if not text:
        return None
    match = _NUMBER_TEXT.match(text)
    number = int(match.group(1)) if match else 0
    if not 1 <= number <= MAX_NUMBER:
        raise errors.ValidationError({"params.number": ["must be a quote number"]})
    return number


def list_window(params: dict[str, Any]) -> tuple[int, int]:
    """``(limit, offset)`` of ``quote.list``."""
    checked = _checked(params, LIST)
    return int(checked.get("limit", 50)), int(checked.get("offset", 0))
