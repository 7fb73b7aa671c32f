"""A loopback TCP proxy to PostgreSQL that a test can cut and restore, like a network outage."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .servers import free_port
from .waiting import wait_until


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


class PostgresProxy:
    """Listen on 127.0.0.1 and forward to the server of ``database_url``."""

    def __init__(self, database_url: str) -> None:
        parts = urlsplit(database_url)
        self._database = parts.path.lstrip("/")
        self._user = parts.username or "postgres"
        query = parse_qs(parts.query)
        self._tcp = (parts.hostname, parts.port or 5432) if parts.hostname else None
        socket_dir = query.get("host", ["/tmp"])[0]
        port = query.get("port", ["5432"])[0]
        self._socket = Path(socket_dir) / f".s.PGSQL.{port}"
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"postgresql://{self._user}@127.0.0.1:{self.port}/{self._database}"

    async def _open_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._tcp is not None:
            return await asyncio.open_connection(*self._tcp)
        return await asyncio.open_unix_connection(str(self._socket))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await self._open_upstream()
        except OSError:
            writer.close()
            return
        if self._server is None:  # cut while this connection was being opened
            writer.transport.abort()
            up_writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self._writers -= {writer, up_writer}

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def cut(self) -> None:
        """Refuse new connections and break every open one."""
        if self._server is not None:
            self._server.close()
            self._server = None

        def all_closed() -> bool:
            # Aborted at each look: a connection accepted just before the cut registers late.
            for writer in list(self._writers):
                writer.transport.abort()
            return not self._writers

        await wait_until(all_closed, what="every proxied connection closed")

    async def close(self) -> None:
        await self.cut()

    async def __aenter__(self) -> PostgresProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await self.close()
