"""The container health check: 2xx is healthy, anything else (or nothing) is not."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from quart import Quart, Response

from flask_core.probe import default_url, main, probe
from tests.support.servers import free_port, serve_app


def _app() -> Quart:
    app = Quart(__name__)

    @app.get("/health")
    async def health() -> Response:
        return Response("{}", status=200)

    @app.get("/ready")
    async def ready() -> Response:
        return Response("{}", status=503)

    return app


def test_the_default_url_is_the_services_own_port() -> None:
    assert default_url({}) == "http://127.0.0.1:8000/health"
    assert default_url({"ROUTER_PORT": "9000"}) == "http://127.0.0.1:9000/health"
    assert default_url({"ROUTER_PORT": "9000", "MODULE_PORT": "8020"}).endswith(":8020/health")


async def test_probe_passes_on_2xx_and_fails_on_503_or_nothing_listening() -> None:
    # The probe blocks (it is a stdlib one-shot), so it runs in a thread beside the server.
    async with serve_app(_app()) as base_url:
        assert await asyncio.to_thread(probe, f"{base_url}/health") is None
        answer = await asyncio.to_thread(probe, f"{base_url}/ready")
        assert answer == f"{base_url}/ready: HTTP 503"
        port = base_url.rsplit(":", 1)[1]
        command = [sys.executable, "-m", "flask_core.probe"]
        passed = await asyncio.to_thread(
            subprocess.run, command, env={"MODULE_PORT": port}, timeout=30
        )
        assert passed.returncode == 0
    refused = probe(f"http://127.0.0.1:{free_port()}/health", timeout=1)
    assert refused is not None and "refused" in refused.lower()
    assert main(["file:///etc/passwd"], {}) == 1
