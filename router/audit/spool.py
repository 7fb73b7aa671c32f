"""The local spool: audit records that could not reach PostgreSQL yet, in order, on disk.

Each writer process appends to its own file (NDJSON, fsync'd after every batch) and holds an
exclusive ``flock`` on it while alive. At start-up a writer adopts the files of processes that
are gone (their lock is free) by moving their records in front of its own. All file I/O runs in
a thread so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from flask_core.logging import get_logger

from .records import AuditRecord

SPOOL_GLOB = "audit-*.ndjson"
_log = get_logger("router.audit.spool")


class AuditSpool:
    """An append-only local file of records waiting for the database."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / f"audit-{os.getpid()}-{secrets.token_hex(4)}.ndjson"
        self._handle: IO[bytes] | None = None
        self.pending = False

    async def open(self) -> None:
        await asyncio.to_thread(self._open)

    async def close(self) -> None:
        await asyncio.to_thread(self._close)

    async def append(self, records: Sequence[AuditRecord]) -> None:
        await asyncio.to_thread(self._append, records)
        self.pending = True

    async def read(self) -> list[AuditRecord]:
        return await asyncio.to_thread(self._read)

    async def clear(self) -> None:
        await asyncio.to_thread(self._truncate)
        self.pending = False

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "ab")  # noqa: SIM115 - held (and locked) for the process' life
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._handle = handle
        for orphan in sorted(self.directory.glob(SPOOL_GLOB)):
            if orphan != self.path:
                self._adopt(orphan)
        self.pending = self.path.stat().st_size > 0

    def _adopt(self, orphan: Path) -> None:
        try:
            source = open(orphan, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return
        with source:
            try:
                fcntl.flock(source.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # its writer is alive
            data = source.read()
            if data:
                self._write_bytes(data if data.endswith(b"\n") else data + b"\n")
            orphan.unlink(missing_ok=True)
            _log.info("adopted audit spool %s", orphan.name, extra={"event_type": "SYSTEM"})

    def _close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        empty = self.path.stat().st_size == 0
        if empty:
            self.path.unlink(missing_ok=True)
        handle.close()

    def _write_bytes(self, data: bytes) -> None:
        assert self._handle is not None, "the spool is opened by the audit trail"
        self._handle.write(data)
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def _append(self, records: Sequence[AuditRecord]) -> None:
        lines = b"".join(
            json.dumps(record.to_json(), ensure_ascii=False).encode("utf-8") + b"\n"
            for record in records
        )
        self._write_bytes(lines)

    def _read(self) -> list[AuditRecord]:
        records: list[AuditRecord] = []
        with open(self.path, "rb") as source:
            for number, line in enumerate(source, start=1):
                try:
                    records.append(AuditRecord.from_json(json.loads(line)))
                except (ValueError, KeyError, TypeError):
                    # A torn last line from a crash mid-write: the batch was never acknowledged.
                    _log.error("unreadable audit spool line %s skipped", number)
        return records

    def _truncate(self) -> None:
        assert self._handle is not None
        self._handle.truncate(0)
        self._handle.flush()
        os.fsync(self._handle.fileno())
