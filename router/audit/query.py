"""The audit query string: filters, limit and the opaque cursor."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from flask_core import errors
from flask_core.logging import CATEGORIES
from flask_core.querystring import QueryParam, QueryString
from flask_core.validation import COMMUNITY_ID

from ..scope import AdminScope
from .store import AuditFilter

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

AUDIT_FILTERS = {
    "category": QueryParam("records of this category", choices=CATEGORIES),
    "community": QueryParam("records of this community (within the admin's scope)"),
    "user": QueryParam("records of this user"),
    "action": QueryParam("records of this action"),
    "result": QueryParam("records with this result"),
    "since": QueryParam("records at or after this time (RFC 3339)", kind="date-time"),
    "until": QueryParam("records before this time (RFC 3339)", kind="date-time"),
}
LIMIT = QueryParam("at most this many records", kind="integer", minimum=1, maximum=MAX_LIMIT)
AUDIT_QUERY = {
    **AUDIT_FILTERS,
    "limit": LIMIT,
    "cursor": QueryParam("the next_cursor of the previous page"),
}
AUDIT_EXPORT = {
    **AUDIT_FILTERS,
    "limit": LIMIT,
    "format": QueryParam("the export format (default ndjson)", choices=("ndjson", "csv")),
}


@dataclass(frozen=True, slots=True)
class AuditQuery:
    where: AuditFilter
    limit: int | None
    before_id: int | None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"a:{last_id}".encode()).decode().rstrip("=")


def _decode_cursor(value: str) -> int:
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        kind, _, number = text.partition(":")
        if kind != "a" or not number.isdigit() or len(number) > 18:
            raise ValueError(value)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise errors.ValidationError({"cursor": ["is not a cursor of this API"]}) from None


def parse_audit_query(params: QueryString, *, default_limit: int | None) -> AuditQuery:
    """Read the filters of SPEC §10, confined to what the calling admin may see."""
    category = params.choice("category", CATEGORIES)
    community = params.text("community", pattern=COMMUNITY_ID)
    scope = AdminScope.current()
    if community is not None and not scope.sees(community):
        raise errors.Forbidden(reason="audit community outside the admin's scope")
    cursor = params.text("cursor")
    where = AuditFilter(
        communities=scope.communities,
        category=category,
        community=community,
        user=params.text("user"),
        action=params.text("action"),
        result=params.text("result"),
        since=params.moment("since"),
        until=params.moment("until"),
    )
    limit = params.integer("limit", default=default_limit, low=1, high=MAX_LIMIT)
    return AuditQuery(where, limit, _decode_cursor(cursor) if cursor else None)
