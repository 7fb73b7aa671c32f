"""Real Redis topologies on loopback for the test session: a 3-master cluster, and a primary +
replica behind one Sentinel, all run by the system's ``redis-server``."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis

from flask_core.redis_client import RedisTopology

SENTINEL_MASTER = "hubmaster"
_START_SECONDS = 30.0


def redis_server_binary() -> str:
    """The system's ``redis-server`` (7.x); its cluster and Sentinel modes are what we test."""
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found is None:
        raise FileNotFoundError("redis-server is not installed (apt-get install redis-server)")
    return found


def free_port() -> int:
    """A loopback port that is free, and whose cluster bus port (+10000) is free too."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port + 10000 < 65536 and _is_free(port + 10000):
            return port


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for(condition: Callable[[], bool], what: str, seconds: float = _START_SECONDS) -> None:
    """Poll ``condition`` (errors count as "not yet") until it holds; TimeoutError naming it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{what} not reached within {seconds:.0f} s")


@dataclass
class ServerProcess:
    """One ``redis-server`` process on a loopback port, in its own directory."""

    port: int
    directory: Path
    args: list[str]
    process: subprocess.Popen[bytes] | None = None
    binary: str | None = None  # the system's redis-server unless named

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = (self.directory / "server.log").open("ab")
        # Its own session: a Ctrl-C meant for the test run reaches the owner, which stops it.
        self.process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
            [self.binary or redis_server_binary(), *self.args],
            cwd=self.directory,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_for(lambda: bool(self.client().ping()), f"redis-server on port {self.port}")

    def client(self, **options: object) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, **options)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _server(directory: Path, *extra: str) -> ServerProcess:
    port = free_port()
    args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(directory)]
    return ServerProcess(port, directory, [*args, *extra])


@dataclass
class ClusterServers:
    """Three masters sharing the 16384 slots (no replicas), created with ``CLUSTER ADDSLOTS``."""

    directory: Path
    nodes: list[ServerProcess] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}/0"

    topology = RedisTopology("cluster")

    def start(self) -> None:
        for index in range(3):
            where = self.directory / f"node{index}"
            self.nodes.append(
                _server(where, "--cluster-enabled", "yes", "--cluster-node-timeout", "2000")
            )
        for node in self.nodes:
            node.start()
        self._assign_slots()
        wait_for(self._ready, "cluster_state:ok on every node")

    def _assign_slots(self) -> None:
        first = self.nodes[0].client()
        for node in self.nodes[1:]:
            first.execute_command("CLUSTER", "MEET", "127.0.0.1", node.port)
        bounds = [0, 5461, 10923, 16384]
        for index, node in enumerate(self.nodes):
            node.client().execute_command(
                "CLUSTER", "ADDSLOTSRANGE", bounds[index], bounds[index + 1] - 1
            )

    def _ready(self) -> bool:
        for node in self.nodes:
            info = node.client().execute_command("CLUSTER", "INFO")
            text = info.decode() if isinstance(info, bytes) else str(info)
            if "cluster_state:ok" not in text or "cluster_known_nodes:3" not in text:
                return False
            # Every node must also agree on who serves which slots before clients connect.
            if len(node.client().execute_command("CLUSTER", "SLOTS")) != 3:
                return False
        return True

    def flush(self) -> None:
        for node in self.nodes:
            node.client().flushall()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


@dataclass
class SentinelServers:
    """A primary (AOF on), its replica and one Sentinel watching them."""

    directory: Path
    primary: ServerProcess | None = None
    replica: ServerProcess | None = None
    sentinel: ServerProcess | None = None

    @property
    def url(self) -> str:
        return f"redis://{SENTINEL_MASTER}/0"  # the host is the master's name: Sentinel finds it

    @property
    def topology(self) -> RedisTopology:
        assert self.sentinel is not None
        return RedisTopology("sentinel", (("127.0.0.1", self.sentinel.port),), SENTINEL_MASTER)

    def start(self) -> None:
        durable = ("--appendonly", "yes", "--appendfsync", "always")
        self.primary = _server(self.directory / "primary", *durable)
        self.primary.start()
        self.replica = _server(
            self.directory / "replica", *durable, "--replicaof", "127.0.0.1", str(self.primary.port)
        )
        self.replica.start()
        wait_for(self._replica_in_sync, "the replica in sync with the primary")
        self.sentinel = self._start_sentinel()
        wait_for(self._sentinel_sees_replica, "Sentinel knowing the master and its replica")

    def _start_sentinel(self) -> ServerProcess:
        assert self.primary is not None
        where = self.directory / "sentinel"
        where.mkdir(parents=True, exist_ok=True)
        port = free_port()
        config = where / "sentinel.conf"
        config.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {where}\n"
            f"sentinel monitor {SENTINEL_MASTER} 127.0.0.1 {self.primary.port} 1\n"
            f"sentinel down-after-milliseconds {SENTINEL_MASTER} 1000\n"
            f"sentinel failover-timeout {SENTINEL_MASTER} 10000\n"
            f"sentinel parallel-syncs {SENTINEL_MASTER} 1\n"
        )
        sentinel = ServerProcess(port, where, [str(config), "--sentinel"])
        sentinel.start()
        return sentinel

    def _replica_in_sync(self) -> bool:
        assert self.replica is not None
        info = self.replica.client().info("replication")
        return bool(info.get("master_link_status") == "up")

    def _sentinel_sees_replica(self) -> bool:
        assert self.sentinel is not None
        replicas = self.sentinel.client().execute_command("SENTINEL", "REPLICAS", SENTINEL_MASTER)
        return len(replicas) >= 1

    def master(self) -> ServerProcess:
        """The server Sentinel currently names as master."""
        assert self.sentinel is not None and self.primary is not None and self.replica is not None
        _host, port = self.sentinel.client().execute_command(
            "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SENTINEL_MASTER
        )
        return self.primary if int(port) == self.primary.port else self.replica

    def flush(self) -> None:
        self.master().client().flushall()

    def stop(self) -> None:
        for server in (self.sentinel, self.replica, self.primary):
            if server is not None:
                server.stop()
