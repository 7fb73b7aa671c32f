"""A local spool: items a shared store refused for now, kept on disk in order, replayed later.

Each process appends to its own NDJSON file ``{name}-{pid}-{rand}.ndjson`` and holds an
exclusive ``flock`` on it while alive. On open a process adopts every file whose lock it can
take (its writer died) and replays those, oldest first, before its own, so nothing accepted is
lost across restarts. Every append is flushed and fsynced before it returns; all file IO runs in
a thread so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import secrets
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Generic, TypeVar

from ..logging import get_logger

T = TypeVar("T")

_log = get_logger("flask_core.router_only.spool")
_READ_HINT = 1 << 20
# What a torn last write of a crashed process can raise while being decoded.
_UNREADABLE = (ValueError, TypeError, KeyError)


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


def _create_locked(path: Path) -> _SpoolFile:
    """A new spool file that appears under its name only once this process holds its lock.

    Created under a name no adopter looks for, so another process scanning the directory at
    the same moment cannot take the lock first and adopt a file whose writer is alive.
    """
    staging = path.with_name(f".{path.name}.new")
    handle = staging.open("a+b")
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.replace(staging, path)
    return _SpoolFile(path, handle)


def _lock(path: Path) -> _SpoolFile | None:
    try:
        handle = path.open("a+b")
    except FileNotFoundError:  # another process adopted and removed it meanwhile
        return None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return _SpoolFile(path, handle)


class Spool(Generic[T]):
    """Append-only, fsynced, per-process spool files of ``T``, drained in order."""

    def __init__(
        self,
        directory: Path,
        name: str,
        encode: Callable[[T], bytes],
        decode: Callable[[bytes], T],
    ) -> None:
        self.directory = Path(directory)
        self.name = name
        self.path = self.directory / f"{name}-{os.getpid()}-{secrets.token_hex(4)}.ndjson"
        self._encode = encode
        self._decode = decode
        self._lock = asyncio.Lock()
        self._own: _SpoolFile | None = None
        self._adopted: list[_SpoolFile] = []
        self._pending = False

    async def open(self) -> None:
        self._own, self._adopted = await asyncio.to_thread(self._open_files)
        self._pending = bool(self._adopted)

    def _open_files(self) -> tuple[_SpoolFile, list[_SpoolFile]]:
        self.directory.mkdir(parents=True, exist_ok=True)
        own = _create_locked(self.path)
        adopted = []
        for path in sorted(self.directory.glob(f"{self.name}-*.ndjson"), key=_age):
            found = _lock(path) if path != own.path else None
            if found is not None:
                found.adopted = True
                adopted.append(found)
        if adopted:
            _log.warning(
                "adopted %d %s spool file(s) from a previous run",
                len(adopted),
                self.name,
                extra={"event_type": "SYSTEM"},
            )
        return own, adopted

    @property
    def pending(self) -> bool:
        """True while spooled items wait: new ones must queue behind them to keep order."""
        return self._pending

    async def append(self, items: Iterable[T]) -> None:
        """Write items durably (flushed and fsynced) before returning."""
        lines = [self._encode(item) + b"\n" for item in items]
        async with self._lock:
            await self._write(lines)

    async def append_behind(self, items: Iterable[T]) -> bool:
        """Queue items behind what is spooled: False, writing nothing, once nothing is.

        A caller that saw ``pending`` may wait here on a drain; when that drain emptied the
        spool, queueing behind it would only re-arm the spool (and keep it on under steady
        load), so the caller gets False and goes to the shared store itself.
        """
        lines = [self._encode(item) + b"\n" for item in items]
        async with self._lock:
            if not self._pending:
                return False
            await self._write(lines)
            return True

    async def _write(self, lines: list[bytes]) -> None:
        assert self._own is not None, "the spool is opened by its owner's lifespan"
        await asyncio.to_thread(self._own.append, lines)
        self._pending = True

    async def drain(self, replay: Callable[[T], Awaitable[Any]]) -> int:
        """Replay spooled items one by one, in order; stop (keeping the rest) when it raises."""

        async def one_by_one(items: Sequence[T]) -> None:
            for item in items:
                await replay(item)

        return await self.drain_batches(one_by_one, batch_size=1)

    async def drain_batches(
        self, replay: Callable[[Sequence[T]], Awaitable[Any]], batch_size: int
    ) -> int:
        """Replay spooled items in order, ``batch_size`` at a time; stop when ``replay`` raises.

        A batch counts as replayed only once ``replay`` returns, so after a failure the next
        drain starts again at that batch (the replay target must tolerate a repeat).
        """
        replayed = 0
        async with self._lock:
            for spool_file in [*self._adopted, *([self._own] if self._own else [])]:
                replayed += await self._drain_file(spool_file, replay, batch_size)
            self._adopted = [f for f in self._adopted if not f.handle.closed]
            self._pending = bool(self._adopted)
            own = self._own
            if own is not None and own.size() > 0:
                await asyncio.to_thread(own.reset)
        return replayed

    async def _drain_file(
        self,
        spool_file: _SpoolFile,
        replay: Callable[[Sequence[T]], Awaitable[Any]],
        batch_size: int,
    ) -> int:
        replayed = 0
        while lines := await asyncio.to_thread(spool_file.read_lines):
            for start in range(0, len(lines), batch_size):
                chunk = lines[start : start + batch_size]
                decoded = (self._read(line, spool_file) for line in chunk)
                items = [item for item in decoded if item is not None]
                if items:
                    await replay(items)
                    replayed += len(items)
                spool_file.offset += sum(len(line) for line in chunk)
        if spool_file.adopted:
            await asyncio.to_thread(spool_file.discard)
        return replayed

    def _read(self, line: bytes, spool_file: _SpoolFile) -> T | None:
        try:
            return self._decode(line)
        except _UNREADABLE as exc:
            # Only a torn last write of a crashed process can look like this.
            _log.error("skipping an unreadable spool line in %s: %s", spool_file.path.name, exc)
            return None

    async def close(self) -> None:
        for spool_file in [*self._adopted, *([self._own] if self._own else [])]:
            if spool_file.handle.closed:
                continue
            if not spool_file.adopted and spool_file.size() == 0:
                await asyncio.to_thread(spool_file.discard)
            else:
                spool_file.handle.close()  # releases the lock; the next start adopts it


def _age(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # removed by another adopter since the listing: order is moot
        return 0.0
