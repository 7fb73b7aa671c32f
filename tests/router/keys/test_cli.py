from __future__ import annotations

import asyncio
import json
import os
import sys

from quart.typing import TestClientProtocol

from router.settings import RouterSettings
from tests.support.waiting import wait_until


async def _cli(settings: RouterSettings, *args: str) -> tuple[int, str, str]:
    assert settings.database_url and settings.redis_url
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "ROUTER_DATA_DIR": str(settings.data_dir),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "router",
        "keys",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_cli_creates_lists_and_revokes_keys(
    settings: RouterSettings, client: TestClientProtocol
) -> None:
    code, out, _ = await _cli(settings, "create", "--role", "admin", "--name", "first")
    assert code == 0
    key = out.strip()
    assert key.startswith("rh_") and "\n" not in key
    listed = await client.get("/api/v1/admin/keys", headers={"X-API-Key": key})
    assert listed.status_code == 200
    assert [item["name"] for item in (await listed.get_json())["items"]] == ["first"]

    code, out, _ = await _cli(
        settings, "create", "--role", "trigger", "--name", "bot", "--community", "c1"
    )
    assert code == 0
    code, out, _ = await _cli(settings, "list")
    items = [json.loads(line) for line in out.splitlines()]
    assert [(i["name"], i["communities"]) for i in items] == [("first", ["*"]), ("bot", ["c1"])]
    assert key not in out and "hash" not in out

    code, _, _ = await _cli(settings, "revoke", items[0]["id"])
    assert code == 0

    async def refused() -> bool:  # at once, or within the cache bound if the message raced
        return (
            await client.get("/api/v1/admin/keys", headers={"X-API-Key": key})
        ).status_code == 401

    await wait_until(refused, timeout=1.0)
    denied = await client.get("/api/v1/admin/keys", headers={"X-API-Key": key})
    assert denied.status_code == 401
    code, _, err = await _cli(settings, "revoke", "00000000-0000-0000-0000-000000000000")
    assert code == 1 and "no key" in err
