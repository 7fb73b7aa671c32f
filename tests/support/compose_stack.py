"""Run ``docker-compose.yml`` without a container engine: each service's own command, on loopback.

What a container would give a service is mapped onto this machine:

- a service's host name and container port (``http://router:8000``) become ``127.0.0.1`` and a
  free port of that service instance (``ROUTER_PORT`` / ``MODULE_PORT`` follow);
- ``0.0.0.0`` binds become ``127.0.0.1`` (nothing here listens beyond loopback);
- ``postgres`` and ``redis`` are the test session's real servers, so their URLs are replaced
  whole (the embedded PostgreSQL listens on a socket, not on ``postgres:5432``);
- each named volume becomes a directory (a per-instance one for a replicated service's data);
- a health check's ``CMD`` runs here, with this interpreter for ``python``.

Services start in ``depends_on`` order; a ``service_completed_successfully`` dependency must
exit 0, a ``service_healthy`` one must pass its health check. The router can be started as
several replicas: the modules that reach ``router:8000`` are spread over them.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .compose import environment_of
from .processes import stop_process
from .servers import free_port

EXTERNAL = ("postgres", "redis")  # provided by the test session's servers
LOOPBACK = "127.0.0.1"


@dataclass
class Instance:
    """One running copy of a compose service."""

    service: str
    replica: int
    port: int | None
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


@dataclass
class ComposeStack:
    compose: dict[str, Any]
    directory: Path
    database_url: str
    redis_url: str
    replicas: Mapping[str, int] = field(default_factory=dict)
    instances: list[Instance] = field(default_factory=list)
    _ports: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def services(self) -> dict[str, Any]:
        services: dict[str, Any] = self.compose["services"]
        return services

    def order(self) -> list[str]:
        """Service names in an order that starts every dependency first."""
        done: list[str] = []

        def visit(name: str, path: tuple[str, ...]) -> None:
            if name in done or name in EXTERNAL:
                return
            if name in path:
                raise ValueError(f"depends_on cycle through {name}")
            for dependency in self.services[name].get("depends_on", {}):
                visit(dependency, (*path, name))
            done.append(name)

        for name in self.services:
            visit(name, ())
        return done

    def _depends(self, service: str) -> dict[str, Any]:
        depends: dict[str, Any] = self.services[service].get("depends_on", {})
        return depends

    def instance_of(self, service: str, replica: int = 0) -> Instance:
        for instance in self.instances:
            if (instance.service, instance.replica) == (service, replica):
                return instance
        raise KeyError(f"{service}#{replica} is not running")

    def _port(self, service: str, replica: int) -> int | None:
        expose = self.services[service].get("expose", [])
        if not expose:
            return None
        return self._ports.setdefault((service, replica), free_port())

    def _volumes(self, service: str, replica: int) -> dict[str, Path]:
        """Mount target → a directory standing in for the named volume.

        Named volumes are shared by every service mounting them, except a replicated service's
        writable ones: each replica keeps its own data (spools are per process anyway). A mount
        nested in another one (``/secrets/router`` in ``/secrets``) becomes a symbolic link.
        """
        mounts: dict[str, Path] = {}
        replicated = self.replicas.get(service, 1) > 1
        for spec in self.services[service].get("volumes", []):
            name, target, *mode = spec.split(":")
            own = replicated and mode != ["ro"]
            directory = self.directory / "volumes" / (f"{name}-{replica}" if own else name)
            directory.mkdir(parents=True, exist_ok=True)
            mounts[target] = directory
        for target, directory in mounts.items():
            parent = target.rsplit("/", 1)[0]
            if parent in mounts and not (mounts[parent] / target[len(parent) + 1 :]).exists():
                (mounts[parent] / target[len(parent) + 1 :]).symlink_to(directory)
        return mounts

    def _rewrite(self, value: str, service: str, replica: int, mounts: dict[str, Path]) -> str:
        own = self._port(service, replica)
        value = re.sub(r"postgres(ql)?://[^@\s]*@postgres:5432/\w+", self.database_url, value)
        value = re.sub(r"redis://redis:6379(/\d+)?", self.redis_url, value)

        def address(match: re.Match[str]) -> str:
            target, port = match.group(1), int(match.group(2))
            if target not in self.services:
                return match.group(0)
            # Replicas of the target are spread over its clients, as a service name would.
            count = self.replicas.get(target, 1)
            clients = sorted(s for s in self.services if target in self._depends(s))
            chosen = clients.index(service) % count if service in clients else 0
            if target == service:
                chosen = replica
            assert self.services[target].get("expose") == [str(port)], (target, port)
            return f"//{LOOPBACK}:{self._ports[(target, chosen)]}"

        value = re.sub(r"//([a-z][a-z0-9_-]*):(\d+)", address, value)
        if own is not None:
            for exposed in self.services[service]["expose"]:
                value = value.replace(f"{LOOPBACK}:{exposed}", f"{LOOPBACK}:{own}")
        for target, directory in mounts.items():
            if value == target or value.startswith(f"{target}/"):
                value = str(directory) + value[len(target) :]
        return LOOPBACK if value == "0.0.0.0" else value  # noqa: S104 - mapping it away

    def environment(self, service: str, replica: int) -> dict[str, str]:
        mounts = self._volumes(service, replica)
        env = {
            name: self._rewrite(value, service, replica, mounts)
            for name, value in environment_of(self.services[service]).items()
        }
        own = self._port(service, replica)
        for variable in ("ROUTER_PORT", "MODULE_PORT"):
            if variable in env and own is not None:
                env[variable] = str(own)
        return env

    def command(self, argv: list[str], service: str, replica: int) -> list[str]:
        mounts = self._volumes(service, replica)
        argv = [self._rewrite(arg, service, replica, mounts) for arg in argv]
        return [sys.executable, *argv[1:]] if argv and argv[0] == "python" else argv

    def start(self, service: str, replica: int = 0) -> Instance:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.directory),
            **self.environment(service, replica),
        }
        log = self.directory / "logs" / f"{service}-{replica}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as sink:
            process = subprocess.Popen(  # noqa: S603 - the compose file's own command
                self.command(self.services[service]["command"], service, replica),
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
            )
        instance = Instance(service, replica, self._port(service, replica), process, log)
        self.instances.append(instance)
        return instance

    async def completed(self, instance: Instance, seconds: float = 60) -> None:
        returncode = await asyncio.to_thread(instance.process.wait, seconds)
        if returncode != 0:
            raise RuntimeError(f"{instance.service} exited {returncode}:\n{instance.log_tail()}")

    async def healthy(self, instance: Instance, seconds: float = 90) -> None:
        """Run the service's own health check until it passes."""
        check = self.services[instance.service]["healthcheck"]["test"]
        assert check[0] == "CMD", "only exec-form health checks run without a shell"
        argv = self.command(list(check[1:]), instance.service, instance.replica)
        deadline = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < deadline:
            if instance.process.poll() is not None:
                raise RuntimeError(f"{instance.service} exited:\n{instance.log_tail()}")
            probe = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
            )
            if await probe.wait() == 0:
                return
            await asyncio.sleep(0.5)
        raise TimeoutError(f"{instance.service} never healthy:\n{instance.log_tail()}")

    async def up(self) -> None:
        """Start every service in order, waiting on what each one's dependents need."""
        for service in self.order():
            started = [self.start(service, r) for r in range(self.replicas.get(service, 1))]
            for instance in started:
                if "healthcheck" in self.services[service]:
                    await self.healthy(instance)
                else:
                    await self.completed(instance)

    def down(self) -> None:
        """Stop dependents before what they depend on (modules deregister from the router)."""
        for instance in reversed(self.instances):
            if instance.process.poll() is None:
                stop_process(instance.process, grace=30)
