"""Reading the audit trail: query, streamed export, chain verification (SPEC §10)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

from quart import Blueprint, Response

from flask_core import errors
from flask_core.api import create_response
from flask_core.auth import guard_blueprint
from flask_core.querystring import QueryParam, declared_query
from flask_core.routes import route
from flask_core.slots import ServiceSlot
from flask_core.validation import COMMUNITY_ID

from .. import answers
from ..scope import AdminScope
from .query import AUDIT_EXPORT, AUDIT_QUERY, DEFAULT_LIMIT, encode_cursor, parse_audit_query
from .stats import BUCKETS, StatsRange, audit_stats
from .store import AuditFilter, AuditStore, public_row

blueprint = Blueprint("admin_audit", __name__, url_prefix="/api/v1/admin/audit")
guard_blueprint(blueprint, "admin", optional_scope=True)
AUDIT_STORE = ServiceSlot[AuditStore]("router.audit_store")

CSV_COLUMNS = (
    "id",
    "timestamp",
    "category",
    "module",
    "version",
    "community",
    "user",
    "action",
    "result",
    "reason",
    "correlation_id",
    "details",
)


STATS_QUERY = {
    "bucket": QueryParam("bucket width (default hour)", choices=tuple(BUCKETS)),
    "since": QueryParam(
        "start of the range (RFC 3339; default: a span before until)", kind="date-time"
    ),
    "until": QueryParam("end of the range, exclusive (RFC 3339; default now)", kind="date-time"),
    "community": QueryParam("count only this community (within the admin's scope)"),
}


@blueprint.get("")
@route(query=AUDIT_QUERY, answers=answers.ok(answers.AUDIT_PAGE))
async def query_audit() -> Response:
    """Audit records, newest first, filtered and paginated by cursor."""
    query = parse_audit_query(declared_query(), default_limit=DEFAULT_LIMIT)
    assert query.limit is not None
    rows = await AUDIT_STORE.get().page(query.where, query.limit + 1, query.before_id)
    items = [public_row(row) for row in rows[: query.limit]]
    more = len(rows) > query.limit
    return create_response(
        {"items": items, "next_cursor": encode_cursor(items[-1]["id"]) if more else None}
    )


def _csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


async def _export_lines(kind: str, rows: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    if kind == "csv":
        yield _csv_line(list(CSV_COLUMNS)).encode()
    async for row in rows:
        record = public_row(row)
        if kind == "csv":
            details = json.dumps(record["details"]) if record["details"] is not None else ""
            line = _csv_line([details if c == "details" else record[c] for c in CSV_COLUMNS])
        else:
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        yield line.encode("utf-8")


@blueprint.get("/export")
@route(query=AUDIT_EXPORT, answers=answers.AUDIT_EXPORT)
async def export_audit() -> Response:
    """Stream the matching records as NDJSON or CSV."""
    params = declared_query()
    kind = params.choice("format", ("ndjson", "csv")) or "ndjson"
    query = parse_audit_query(params, default_limit=None)
    rows = AUDIT_STORE.get().stream(query.where, query.limit)
    content_type = "text/csv; charset=utf-8" if kind == "csv" else "application/x-ndjson"
    response = Response(_export_lines(kind, rows), content_type=content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="audit.{kind}"'
    return response


@blueprint.get("/stats")
@route(query=STATS_QUERY, answers=answers.ok(answers.AUDIT_STATS))
async def stats_audit() -> Response:
    """Records per time bucket and category, for charts (scoped admins: their communities)."""
    params = declared_query()
    bucket = params.choice("bucket", tuple(BUCKETS)) or "hour"
    community = params.text("community", pattern=COMMUNITY_ID)
    scope = AdminScope.current()
    if community is not None and not scope.sees(community):
        raise errors.Forbidden(reason="audit community outside the admin's scope")
    span = StatsRange.of(bucket, params.moment("since"), params.moment("until"))
    where = AuditFilter(communities=scope.communities, community=community)
    return create_response({"buckets": await audit_stats(AUDIT_STORE.get().dal, where, span)})


@blueprint.get("/verify")
@route(query={}, answers=answers.ok(answers.AUDIT_VERIFY))
async def verify_audit() -> Response:
    """Check the whole hash chain (the chain spans communities: global admins only)."""
    declared_query()
    AdminScope.current().require_unrestricted("the audit chain spans every community")
    result = await AUDIT_STORE.get().verify()
    return create_response(
        {"ok": result.ok, "checked": result.checked, "first_bad_id": result.first_bad_id}
    )
