"""``python -m modules.quotes`` as operators run it: registers, serves, drains on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from router.app import create_app
from router.settings import RouterSettings
from tests.support.keys import KeyFactory
from tests.support.servers import free_port, serve_app
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
async def test_the_quotes_process_registers_serves_and_deregisters_on_sigterm(
    settings: RouterSettings, database_url: str, api_key: KeyFactory
) -> None:
    router_app = create_app(replace(settings, lease_ttl_seconds=6))
    async with serve_app(router_app) as router_url, httpx.AsyncClient() as http:
        module_key = await api_key("action", module_id="quotes", app=router_app)
        user_key = await api_key("user", app=router_app)
        port = free_port()
        env = {
            **os.environ,
            "ROUTER_URL": router_url,
            "ROUTER_API_KEY": module_key,
            "DATABASE_URL": database_url,
            "MODULE_PORT": str(port),
            "LOG_LEVEL": "WARNING",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "modules.quotes"], cwd=REPO, env=env, stdout=subprocess.DEVNULL
        )
        registry = router_app.extensions["router"].registry
        try:
            await wait_until(
                lambda: registry.action("quote.add", "c1") is not None,
                timeout=30,
                what="the quotes process registered",
            )
            added = await http.post(
                f"{router_url}/api/v1/action/quote.add",
                json={"user_id": "twitch:bob", "params": {"text": "hello"}},
                headers={"X-API-Key": user_key, "X-Community-ID": "c1"},
            )
            assert added.status_code == 200
            assert added.json()["result"]["quote"]["number"] == 1
            module = registry.module("quotes")
            assert [i.base_url for i in module.instances] == [f"http://127.0.0.1:{port}"]
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(proc.wait, 20) == 0
            assert registry.module("quotes").instances == ()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
