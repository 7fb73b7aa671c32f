"""Reading the audit trail: query, streamed export, chain verification (SPEC §10)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

from quart import Blueprint, Response, request

from flask_core import errors
from flask_core.api import create_response
from flask_core.auth import guard_blueprint
from flask_core.slots import ServiceSlot

from ..scope import AdminScope
from .query import DEFAULT_LIMIT, encode_cursor, parse_audit_query
from .store import AuditStore, public_row

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


@blueprint.get("")
async def query_audit() -> Response:
    """Audit records, newest first, filtered and paginated by cursor."""
    query = parse_audit_query(request.args, default_limit=DEFAULT_LIMIT)
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
async def export_audit() -> Response:
    """Stream the matching records as NDJSON or CSV."""
    kind = request.args.get("format", "ndjson")
    if kind not in ("ndjson", "csv"):
        raise errors.ValidationError({"format": ["must be ndjson or csv"]})
    query = parse_audit_query(request.args, default_limit=None)
    rows = AUDIT_STORE.get().stream(query.where, query.limit)
    content_type = "text/csv; charset=utf-8" if kind == "csv" else "application/x-ndjson"
    response = Response(_export_lines(kind, rows), content_type=content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="audit.{kind}"'
    return response


@blueprint.get("/verify")
async def verify_audit() -> Response:
    """Check the whole hash chain (the chain spans communities: global admins only)."""
    AdminScope.current().require_unrestricted("the audit chain spans every community")
    result = await AUDIT_STORE.get().verify()
    return create_response(
        {"ok": result.ok, "checked": result.checked, "first_bad_id": result.first_bad_id}
    )
