"""``python -m router hub`` (``make run``): the router and every module on one machine.

Embedded PostgreSQL and Redis are started in ``ROUTER_DATA_DIR`` unless ``DATABASE_URL`` /
``REDIS_URL`` are set. The hub keeps a bootstrap admin key in ``<data>/hub/admin.key`` (0600,
never printed), mints one API key per module through the admin API at every start (revoking
the previous run's), and stops everything in reverse order on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
from nacl.signing import SigningKey

from flask_core.logging import configure_logging, get_logger

from . import __version__
from .modulelist import MODULE_LIST, listed_modules
from .server import resolve_stores
from .settings import RouterSettings

_log = get_logger("router.hub")


@dataclass(frozen=True)
class ModuleSpec:
    name: str
    role: str
    port: int
    secrets: Callable[[Path], dict[str, str]]


def _no_secrets(_: Path) -> dict[str, str]:
    return {}


def _twitch_secrets(directory: Path) -> dict[str, str]:
    return {"TWITCH_WEBHOOK_SECRET": _kept_secret(directory / "twitch_webhook_secret")}


def _discord_secrets(directory: Path) -> dict[str, str]:
    """A local Ed25519 pair stands in for Discord's, so requests can be signed by hand."""
    seed = bytes.fromhex(_kept_secret(directory / "discord_signing_key"))
    return {
        "DISCORD_PUBLIC_KEY": SigningKey(seed).verify_key.encode().hex(),
        "DISCORD_APPLICATION_ID": os.environ.get("DISCORD_APPLICATION_ID", "local-application"),
    }


# The modules that need secrets made up for a local run; every other module needs none.
SECRETS: dict[str, Callable[[Path], dict[str, str]]] = {
    "twitch": _twitch_secrets,
    "discord": _discord_secrets,
}


def load_modules(path: Path = MODULE_LIST) -> tuple[ModuleSpec, ...]:
    """The modules the hub starts, in order, from ``modules/hub.toml``."""
    return tuple(
        ModuleSpec(m.name, m.role, m.port, SECRETS.get(m.name, _no_secrets))
        for m in listed_modules(path)
    )


def _kept_secret(path: Path) -> str:
    """A 32-byte hex secret created once in ``path`` (0600) and reused afterwards."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def _keep_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by this user only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


class Hub:
    """Starts, watches and stops the hub's processes."""

    def __init__(self, settings: RouterSettings) -> None:
        self.settings = settings
        self.directory = settings.data_dir.resolve() / "hub"
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.router_url = f"http://{settings.host}:{settings.port}"
        self.stopping = False

    def spawn(self, name: str, module: str, env: dict[str, str]) -> None:
        command = [sys.executable, "-m", module]
        # A session of its own: Ctrl-C reaches only the hub, which stops children in order.
        process = subprocess.Popen(  # noqa: S603
            command, env={**os.environ, **env}, start_new_session=True
        )
        self.processes.append((name, process))

    def wait_healthy(self, url: str, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stopping:
            self.check_alive()
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{name} did not become healthy at {url}")

    def check_alive(self) -> None:
        for name, process in self.processes:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with code {process.returncode}")

    def mint_module_key(self, admin_key: str, spec: ModuleSpec) -> str:
        """Revoke the previous run's key of ``spec`` and create a fresh one."""
        headers = {"X-API-Key": admin_key}
        name = f"hub-{spec.name}"
        with httpx.Client(base_url=self.router_url, headers=headers, timeout=10) as client:
            listed = client.get("/api/v1/admin/keys")
            listed.raise_for_status()
            for key in listed.json()["items"]:
                if key["name"] == name and key["revoked_at"] is None:
                    client.delete(f"/api/v1/admin/keys/{key['id']}").raise_for_status()
            created = client.post(
                "/api/v1/admin/keys",
                json={
                    "name": name,
                    "role": spec.role,
                    "communities": ["*"],
                    "module_id": spec.name,
                },
            )
            created.raise_for_status()
            return str(created.json()["key"])

    def stop(self) -> None:
        """Stop the modules first (they deregister from the router), then the router."""
        self.stopping = True
        for name, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _log.warning("%s did not stop in time; killing it", name)
                process.kill()
                process.wait()
            _log.info(
                "stopped %s (exit code %s)",
                name,
                process.returncode,
                extra={"event_type": "SYSTEM"},
            )

    def run(self, stack: ExitStack) -> int:
        settings = resolve_stores(self.settings, stack)
        assert settings.database_url and settings.redis_url
        admin_key = os.environ.get("ROUTER_BOOTSTRAP_ADMIN_KEY") or _kept_secret(
            self.directory / "admin.key"
        )
        stores = {"DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url}
        # The ``say`` commands watch the hub's Redis for the bot's replies.
        _keep_text(self.directory / "redis_url", settings.redis_url)
        self.spawn("router", "router", {**stores, "ROUTER_BOOTSTRAP_ADMIN_KEY": admin_key})
        self.wait_healthy(self.router_url, "router")
        modules = load_modules()
        for spec in modules:
            env = {
                **stores,
                **spec.secrets(self.directory),
                "MODULE_PORT": str(spec.port),
                "ROUTER_URL": self.router_url,
                "ROUTER_API_KEY": self.mint_module_key(admin_key, spec),
            }
            self.spawn(spec.name, f"modules.{spec.name}", env)
            self.wait_healthy(f"http://127.0.0.1:{spec.port}", spec.name)
        _log.info(
            "hub up: router %s, modules %s; admin key in %s",
            self.router_url,
            ", ".join(spec.name for spec in modules),
            self.directory / "admin.key",
            extra={"event_type": "SYSTEM"},
        )
        while not self.stopping:
            self.check_alive()
            time.sleep(0.5)
        return 0


def run_hub(settings: RouterSettings) -> int:
    configure_logging("hub", __version__, settings.log_level, settings.log_format)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    hub = Hub(settings)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        hub.stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with ExitStack() as stack:
        try:
            return hub.run(stack)
        except RuntimeError as error:
            _log.error("hub stopped: %s", error, extra={"event_type": "ERROR"})
            return 1
        finally:
            hub.stop()
