"""Finding keys: the filters of ``GET /api/v1/admin/keys`` as SQL, paged by an opaque cursor.

Keys are listed oldest first (``created_at, id``), so a page boundary never moves when new keys
are minted while an admin pages through.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_core import errors
from flask_core.auth import GLOBAL_SCOPE, ROLES
from flask_core.querystring import QueryParam, QueryString
from flask_core.validation import COMMUNITY_ID, MODULE_ID

from ..scope import AdminScope

KEY_STATES = ("active", "revoked", "expired")
COMMUNITY_ID_OR_GLOBAL = re.compile(rf"{COMMUNITY_ID.pattern}|^\*$")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
LIST_KEYS = {
    "state": QueryParam("active, revoked or expired keys", choices=KEY_STATES),
    "role": QueryParam("keys of this role", choices=ROLES),
    "community": QueryParam("keys whose scope names this community"),
    "module_id": QueryParam("keys bound to this module"),
    "q": QueryParam("text contained in the key's name or prefix (case-insensitive)"),
    "limit": QueryParam(
        "keys per page (default 100)", kind="integer", minimum=1, maximum=MAX_LIMIT
    ),
    "cursor": QueryParam("the next_cursor of the previous page"),
}
_STATE_SQL = {
    "active": "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())",
    "revoked": "revoked_at IS NOT NULL",
    "expired": "revoked_at IS NULL AND expires_at <= now()",
}


@dataclass(frozen=True, slots=True)
class KeyCursor:
    """Where the next page starts: after this key in ``created_at, id`` order."""

    created_at: datetime
    key_id: uuid.UUID

    def encode(self) -> str:
        text = f"k:{self.created_at.isoformat()}|{self.key_id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> KeyCursor:
        try:
            text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            kind, _, rest = text.partition(":")
            moment, _, key_id = rest.partition("|")
            if kind != "k":
                raise ValueError(value)
            return cls(datetime.fromisoformat(moment), uuid.UUID(key_id))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise errors.ValidationError({"cursor": ["is not a cursor of this API"]}) from None


def _like_pattern(text: str) -> str:
    """``text`` matched literally inside ILIKE (its own % and _ are not wildcards)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True, slots=True)
class KeyQuery:
    """A validated key search; ``within`` None means every key (a global admin)."""

    within: Sequence[str] | None
    state: str | None = None
    role: str | None = None
    community: str | None = None
    module_id: str | None = None
    text: str | None = None
    limit: int = DEFAULT_LIMIT
    after: KeyCursor | None = None

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []

        def add(template: str, *values: Any) -> None:
            names = []
            for value in values:
                args.append(value)
                names.append(f"${len(args)}")
            clauses.append(template.format(*names))

        if self.within is not None:
            # A scoped admin sees keys whose scope lies inside its own, never global ones.
            add(
                "communities <@ {}::text[] AND NOT ({} = ANY(communities))",
                list(self.within),
                GLOBAL_SCOPE,
            )
        if self.state is not None:
            clauses.append(_STATE_SQL[self.state])
        if self.role is not None:
            add("role = {}", self.role)
        if self.community is not None:
            add("{} = ANY(communities)", self.community)
        if self.module_id is not None:
            add("module_id = {}", self.module_id)
        if self.text is not None:
            add("(name ILIKE {0} OR prefix ILIKE {0})", _like_pattern(self.text))
        if self.after is not None:
            add("(created_at, id) > ({}, {})", self.after.created_at, self.after.key_id)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def key_query(params: QueryString, scope: AdminScope) -> KeyQuery:
    """The validated filters of ``GET /api/v1/admin/keys``, within what ``scope`` may see."""
    cursor = params.text("cursor")
    limit = params.integer("limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    assert limit is not None  # it has a default
    return KeyQuery(
        within=scope.communities,
        state=params.choice("state", KEY_STATES),
        role=params.choice("role", tuple(ROLES)),
        community=params.text("community", pattern=COMMUNITY_ID_OR_GLOBAL),
        module_id=params.text("module_id", pattern=re.compile(MODULE_ID)),
        text=params.text("q", max_length=128),
        limit=limit,
        after=KeyCursor.decode(cursor) if cursor else None,
    )
