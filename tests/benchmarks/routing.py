"""Routing: the latency the router adds to an action call, and the 503 of an open breaker.

The same echo module is called directly and through ``POST /api/v1/action/{id}`` at the same
fixed request rate (open loop), so the p50/p99 difference is the router's share: key check,
rate limits (one Lua call), breaker admission and record (two Lua calls), token signing and
the proxied call over the pooled client.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import aiohttp

from tests.support.servers import free_port

from .harness import Bench, _process

SECTION = "routing"
ADMIN_KEY = "bench-admin-key-0123456789abcdef0123456789"
RATE = 50.0
UNLIMITED = "1000000/minute"


async def _post(session: aiohttp.ClientSession, url: str, key: str, body: Any) -> Any:
    async with session.post(url, json=body, headers={"X-API-Key": key}) as response:
        return response.status, await response.json(content_type=None)


async def _prepare(router_url: str, module_url: str) -> str:
    """Register the echo module (two actions) and mint an unlimited user key."""
    async with aiohttp.ClientSession() as session:
        registration = {
            "module_id": "bench",
            "module_version": "1.0.0",
            "module_type": "action",
            "base_url": module_url,
            "instance_id": "bench-1",
            "actions": [
                {"id": "bench.echo", "path": "/actions/echo", "timeout_ms": 2000},
                {"id": "bench.fail", "path": "/actions/fail", "timeout_ms": 2000},
            ],
        }
        status, _ = await _post(session, f"{router_url}/api/v1/register", ADMIN_KEY, registration)
        assert status == 201, status
        key_body = {
            "name": "bench-user",
            "role": "user",
            "communities": ["*"],
            "rate_limit": UNLIMITED,
        }
        status, created = await _post(
            session, f"{router_url}/api/v1/admin/keys", ADMIN_KEY, key_body
        )
        assert status == 201, (status, created)
        return str(created["key"])


async def run(bench: Bench) -> None:
    env = {
        "ROUTER_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
        "ROUTER_RATE_LIMIT_COMMUNITY": UNLIMITED,
        "ROUTER_RATE_LIMIT_USER": UNLIMITED,
        "LOG_LEVEL": "WARNING",
    }
    port = free_port()
    command = [sys.executable, "-m", "tests.benchmarks.echo_module", str(port)]
    async with _process(command, dict(os.environ), port) as module, bench.router(env=env) as router:
        user_key = await _prepare(router.base_url, module.base_url)
        call = {"user_id": "twitch:bench", "params": {"n": 1}}
        direct_body = {"action_id": "bench.echo", "community_id": "c1", **call, "context": {}}
        routed_headers = {"X-API-Key": user_key, "X-Community-ID": "c1"}
        direct_url = f"{module.base_url}/actions/echo"
        routed_url = f"{router.base_url}/api/v1/action/bench.echo"
        await bench.at_rate(direct_url, method="POST", json=direct_body, rate=RATE, duration=1)
        await bench.at_rate(
            routed_url, method="POST", json=call, headers=routed_headers, rate=RATE, duration=1
        )
        direct = await bench.at_rate(
            direct_url, method="POST", json=direct_body, rate=RATE, duration=5
        )
        routed = await bench.at_rate(
            routed_url, method="POST", json=call, headers=routed_headers, rate=RATE, duration=5
        )
        floor = await bench.at_rate(f"{router.base_url}/health", rate=RATE, duration=3)
        bench.report(SECTION, f"router GET /health @{RATE:.0f}/s (floor)", floor.line())
        bench.report(SECTION, f"module directly  @{RATE:.0f}/s", direct.line())
        bench.report(SECTION, f"through router   @{RATE:.0f}/s", routed.line())
        bench.report(SECTION, "router adds p50 (ms)", f"{routed.p50 - direct.p50:.2f}")
        bench.report(SECTION, "router adds p99 (ms)", f"{routed.p99 - direct.p99:.2f}")

        failing_url = f"{router.base_url}/api/v1/action/bench.fail"
        async with aiohttp.ClientSession(headers=routed_headers) as session:
            for _ in range(5):  # five consecutive 502s open the breaker (default policy)
                async with session.post(failing_url, json=call) as response:
                    assert response.status == 502, response.status
        open_stats = await bench.at_rate(
            failing_url,
            method="POST",
            json=call,
            headers=routed_headers,
            rate=RATE,
            duration=3,
            expect=(503,),
        )
        # The few non-503 answers are the half-open probes after each back-off (they fail: 502).
        bench.report(SECTION, f"open breaker 503 @{RATE:.0f}/s", open_stats.line())
