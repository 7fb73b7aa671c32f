"""The local spool: envelopes accepted while Redis was unreachable, replayed in order later.

Each process appends to its own file under ``ROUTER_DATA_DIR/spool`` and holds an exclusive
``flock`` on it while alive. On start a process adopts every file whose lock it can take (its
writer died) and replays it before its own, so nothing accepted is lost across restarts. Every
append is flushed and fsynced before the trigger gets its 202; file IO runs in a thread.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask_core.logging import get_logger

from .models import Envelope

_log = get_logger("router.events.spool")
_READ_HINT = 1 << 20

Replay = Callable[[Envelope], Awaitable[None]]


@dataclass
class _SpoolFile:
    path: Path
    handle: BinaryIO
    offset: int = 0  # bytes already replayed
    adopted: bool = False

    def size(self) -> int:
        return os.fstat(self.handle.fileno()).st_size

    def append(self, lines: list[bytes]) -> None:
        self.handle.seek(0, os.SEEK_END)
        self.handle.write(b"".join(lines))
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def read_lines(self) -> list[bytes]:
        self.handle.seek(self.offset)
        return [line for line in self.handle.readlines(_READ_HINT) if line.endswith(b"\n")]

    def reset(self) -> None:
        self.handle.truncate(0)
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.offset = 0

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
        self.handle.close()


def _lock(path: Path) -> _SpoolFile | None:
    handle = path.open("a+b")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return _SpoolFile(path, handle)


class EventSpool:
    """Append-only, fsynced, per-process spool files, drained in order."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = asyncio.Lock()
        self._own: _SpoolFile | None = None
        self._adopted: list[_SpoolFile] = []
        self._pending = False

    async def open(self) -> None:
        self._own, self._adopted = await asyncio.to_thread(self._open_files)
        self._pending = bool(self._adopted)

    def _open_files(self) -> tuple[_SpoolFile, list[_SpoolFile]]:
        self.directory.mkdir(parents=True, exist_ok=True)
        own = _lock(self.directory / f"events-{os.getpid()}-{uuid.uuid4().hex[:8]}.ndjson")
        assert own is not None, "a fresh spool file is locked by nobody"
        adopted = []
        for path in sorted(self.directory.glob("events-*.ndjson"), key=os.path.getmtime):
            found = _lock(path) if path != own.path else None
            if found is not None:
                found.adopted = True
                adopted.append(found)
        if adopted:
            _log.warning("adopted %d spool file(s) from a previous run", len(adopted))
        return own, adopted

    @property
    def pending(self) -> bool:
        """True while spooled envelopes wait: new ones must queue behind them to keep order."""
        return self._pending

    async def append(self, envelopes: Iterable[Envelope]) -> None:
        """Write envelopes durably (flushed and fsynced) before returning."""
        lines = [envelope.to_json().encode() + b"\n" for envelope in envelopes]
        async with self._lock:
            assert self._own is not None, "the spool is opened by the lifespan"
            await asyncio.to_thread(self._own.append, lines)
            self._pending = True

    async def drain(self, replay: Replay) -> int:
        """Replay spooled envelopes in order; stop (keeping the rest) when ``replay`` raises."""
        replayed = 0
        async with self._lock:
            for spool_file in [*self._adopted, *([self._own] if self._own else [])]:
                replayed += await self._drain_file(spool_file, replay)
            self._adopted = [f for f in self._adopted if not f.handle.closed]
            self._pending = bool(self._adopted)
            own = self._own
            if own is not None and own.size() > 0:
                await asyncio.to_thread(own.reset)
        return replayed

    async def _drain_file(self, spool_file: _SpoolFile, replay: Replay) -> int:
        replayed = 0
        while lines := await asyncio.to_thread(spool_file.read_lines):
            for line in lines:
                envelope = _parse(line, spool_file.path)
                if envelope is not None:
                    await replay(envelope)
                    replayed += 1
                spool_file.offset += len(line)
        if spool_file.adopted:
            await asyncio.to_thread(spool_file.discard)
        return replayed

    async def close(self) -> None:
        for spool_file in [*self._adopted, *([self._own] if self._own else [])]:
            if spool_file.handle.closed:
                continue
            if not spool_file.adopted and spool_file.size() == 0:
                await asyncio.to_thread(spool_file.discard)
            else:
                spool_file.handle.close()  # releases the lock; the next start adopts it


def _parse(line: bytes, path: Path) -> Envelope | None:
    try:
        return Envelope.from_dict(json.loads(line))
    except (ValueError, TypeError) as exc:
        # Only a torn last write of a crashed process can look like this.
        _log.error("skipping an unreadable spool line in %s: %s", path.name, exc)
        return None
