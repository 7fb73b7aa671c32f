"""``AuditTrail.record``: a non-blocking enqueue, and the one background writer per process.

Policy for a slow consumer: the queue is bounded; when it is full a record is dropped, counted,
logged as an ERROR line, and the count is itself audited (``SYSTEM audit.overflow``) once the
writer catches up. The writer inserts in batches; when PostgreSQL fails it spools the batch to
disk and replays the spool, in order, before anything newer.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import asyncpg

from flask_core.logging import current_context, get_logger
from flask_core.tasks import BackgroundTasks

from .records import AuditRecord, clean_details, clean_text
from .spool import AuditSpool
from .store import AuditStore, PreparedBatch, prepare

_log = get_logger("router.audit")
_STOP = object()
WRITE_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


class AuditTrail:
    """Append records to the hash-chained trail without ever waiting on I/O."""

    def __init__(
        self,
        module: str,
        version: str,
        *,
        max_queue: int = 20_000,
        batch_size: int = 500,
        retry_interval: float = 1.0,
    ) -> None:
        self.module, self.version = module, version
        self.batch_size = batch_size
        self.retry_interval = retry_interval
        self.dropped = 0
        self.written = 0
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=max_queue)
        self._store: AuditStore | None = None
        self._spool: AuditSpool | None = None
        self._writer: asyncio.Task[None] | None = None
        self._next_replay_at = 0.0
        self._in_hand: deque[list[AuditRecord]] = deque()  # taken, not yet stored or spooled
        self._tasks = BackgroundTasks()

    def record(
        self,
        category: str,
        action: str,
        result: str,
        *,
        community: str | None = None,
        user: str | None = None,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Queue one record (category AUTH, AUTHZ, AUDIT, ERROR or SYSTEM); never blocks."""
        context = current_context()
        entry = AuditRecord(
            category=category,
            action=clean_text(action) or "",
            result=clean_text(str(result)) or "",
            module=self.module,
            version=self.version,
            community=clean_text(community or context.get("community"), 64),
            user=clean_text(user or context.get("user"), 256),
            reason=clean_text(reason),
            correlation_id=clean_text(context.get("correlation_id"), 128),
            details=clean_details(details),
        )
        try:
            self._queue.put_nowait(entry)
        except asyncio.QueueFull:
            self.dropped += 1
            _log.error("audit queue full; record dropped", extra={"event_type": "ERROR"})

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    async def start(self, store: AuditStore, spool_dir: Path) -> None:
        """Open the spool and start the writer (its own task set: it outlives the others)."""
        self._store = store
        self._spool = AuditSpool(spool_dir)
        await self._spool.open()
        self._writer = self._tasks.spawn("audit.writer", self._run())

    async def close(self, grace: float = 10.0) -> None:
        """Drain the queue (to PostgreSQL or the spool), then stop the writer."""
        if self._writer is not None and not self._writer.done():
            await self._queue.put(_STOP)
            try:
                await asyncio.wait_for(asyncio.shield(self._writer), timeout=grace)
            except TimeoutError:
                self._writer.cancel()
                _log.error("audit writer did not drain in %ss", grace)
        if self._spool is not None:
            # What the writer held when it stopped comes first (a batch it may have stored
            # after all is skipped by uid when the spool is replayed).
            leftovers = [record for records in self._in_hand for record in records]
            leftovers += self._take_queued()
            self._in_hand.clear()
            if leftovers:
                await self._spool.append(leftovers)
            await self._spool.close()
        await self._tasks.close()

    def _take_queued(self) -> list[AuditRecord]:
        items = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not _STOP:
                items.append(item)
        return items

    async def _run(self) -> None:
        batch, stop = await self._take()
        upcoming: asyncio.Task[tuple[PreparedBatch, bool]] | None = None
        try:
            while True:
                if not stop:  # taken and hashed while this batch is in PostgreSQL
                    upcoming = asyncio.create_task(self._take(), name="audit.take")
                try:
                    await self._write(batch)
                except Exception:  # the disk failed too: say so loudly, keep serving later ones
                    _log.critical("%s audit records lost", len(batch.records), exc_info=True)
                self._in_hand.popleft()
                if upcoming is None:
                    return
                (batch, stop), upcoming = await upcoming, None
        finally:
            if upcoming is not None:
                upcoming.cancel()

    async def _take(self) -> tuple[PreparedBatch, bool]:
        """The next batch, prepared for the store and held until it is written or spooled."""
        records, stop = await self._next_batch()
        records = self._with_overflow_note(records)
        self._in_hand.append(records)  # from here on close() finds them, even if cancelled
        return await prepare(records), stop

    async def _next_batch(self) -> tuple[list[AuditRecord], bool]:
        # The wait is bounded even with nothing spooled: the batch before may be failing into
        # the spool while this one is awaited, and the spool must be retried without waiting
        # for news. asyncio.timeout, not wait_for: on 3.11 wait_for can drop an item taken as
        # it times out.
        try:
            async with asyncio.timeout(self.retry_interval):
                first = await self._queue.get()
        except TimeoutError:
            return [], False  # nothing new: a chance to replay the spool
        items = [first]
        while len(items) < self.batch_size and not self._queue.empty():
            items.append(self._queue.get_nowait())
        stop = any(item is _STOP for item in items)
        return [item for item in items if item is not _STOP], stop

    async def _write(self, batch: PreparedBatch) -> None:
        assert self._spool is not None
        if self._spool.pending and not await self._replay():
            if batch.records:
                await self._spool.append(batch.records)  # behind what is already waiting
            return
        if batch.records:
            await self._insert_or_spool(batch)

    async def _insert_or_spool(self, batch: PreparedBatch) -> None:
        assert self._store is not None and self._spool is not None
        try:
            self.written += await self._store.append_prepared(batch, unseen=True)
        except Exception as exc:  # whatever failed, the records are kept on disk
            self._failed(exc)
            await self._spool.append(batch.records)

    async def _replay(self) -> bool:
        """Write the spool to PostgreSQL in order; True when it is empty afterwards."""
        assert self._store is not None and self._spool is not None
        if asyncio.get_running_loop().time() < self._next_replay_at:
            return False  # the database failed moments ago: do not re-read the spool yet
        try:
            replayed = await self._spool.drain_batches(self._append_spooled, self.batch_size)
        except Exception as exc:  # rows already stored are skipped by uid on the next try
            self._failed(exc)
            return False
        _log.info("replayed %s spooled audit records", replayed)
        return True

    async def _append_spooled(self, records: Sequence[AuditRecord]) -> None:
        assert self._store is not None
        self.written += await self._store.append(records)

    def _failed(self, exc: Exception) -> None:
        self._next_replay_at = asyncio.get_running_loop().time() + self.retry_interval
        if isinstance(exc, WRITE_ERRORS):
            _log.warning("audit database unreachable (%s); spooling", type(exc).__name__)
        else:
            _log.error("audit insert failed; spooling", exc_info=exc)

    def _with_overflow_note(self, batch: list[AuditRecord]) -> list[AuditRecord]:
        if not self.dropped:
            return batch
        dropped, self.dropped = self.dropped, 0
        note = AuditRecord(
            category="SYSTEM",
            action="audit.overflow",
            result="failure",
            module=self.module,
            version=self.version,
            reason="audit queue full",
            details={"dropped": dropped},
        )
        return [*batch, note]
