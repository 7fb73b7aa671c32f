"""Audit records that could not reach PostgreSQL yet, in order, on disk (a router_only spool)."""

from __future__ import annotations

import json
from pathlib import Path

from flask_core.router_only.spool import Spool

from .records import AuditRecord


def _encode(record: AuditRecord) -> bytes:
    return json.dumps(record.to_json(), ensure_ascii=False).encode("utf-8")


def _decode(line: bytes) -> AuditRecord:
    return AuditRecord.from_json(json.loads(line))


class AuditSpool(Spool[AuditRecord]):
    """Audit records waiting for the database, in ``audit-{pid}-{rand}.ndjson``."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, "audit", _encode, _decode)
