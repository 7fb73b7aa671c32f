"""The audit query string: filters, limit and the opaque cursor."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from flask_core import errors
from flask_core.logging import CATEGORIES
from flask_core.validation import COMMUNITY_ID, is_storable_text, parse_rfc3339

from ..scope import AdminScope
from .store import AuditFilter

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_TEXT = 256


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


def _text(args: Mapping[str, str], name: str) -> str | None:
    value = args.get(name)
    if value is None or value == "":
        return None
    if len(value) > MAX_TEXT or not is_storable_text(value):
        raise errors.ValidationError({name: [f"at most {MAX_TEXT} storable characters"]})
    return value


def _moment(args: Mapping[str, str], name: str) -> datetime | None:
    value = _text(args, name)
    if value is None:
        return None
    moment = parse_rfc3339(value)
    if moment is None:
        raise errors.ValidationError({name: ["must be an RFC 3339 timestamp with a time zone"]})
    return moment


def _limit(args: Mapping[str, str], default: int | None) -> int | None:
    value = args.get("limit")
    if value is None or value == "":
        return default
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise errors.ValidationError({"limit": [f"must be an integer from 1 to {MAX_LIMIT}"]})
    return int(value)


def _checked_filters(args: Mapping[str, str]) -> tuple[str | None, str | None]:
    category = _text(args, "category")
    if category is not None and category not in CATEGORIES:
        raise errors.ValidationError({"category": [f"must be one of {', '.join(CATEGORIES)}"]})
    community = _text(args, "community")
    if community is not None and not COMMUNITY_ID.match(community):
        raise errors.ValidationError({"community": ["must match ^[A-Za-z0-9_-]{1,64}$"]})
    return category, community


def parse_audit_query(args: Mapping[str, str], *, default_limit: int | None) -> AuditQuery:
    """Read the filters of SPEC §10, confined to what the calling admin may see."""
    category, community = _checked_filters(args)
    scope = AdminScope.current()
    if community is not None and not scope.sees(community):
        raise errors.Forbidden(reason="audit community outside the admin's scope")
    cursor = _text(args, "cursor")
    where = AuditFilter(
        communities=scope.communities,
        category=category,
        community=community,
        user=_text(args, "user"),
        action=_text(args, "action"),
        result=_text(args, "result"),
        since=_moment(args, "since"),
        until=_moment(args, "until"),
    )
    return AuditQuery(
        where, _limit(args, default_limit), _decode_cursor(cursor) if cursor else None
    )
