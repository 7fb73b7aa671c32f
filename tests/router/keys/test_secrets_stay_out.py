"""No key ever reaches a log line or an audit record, whatever the outcome of the request."""

from __future__ import annotations

import logging

import pytest
from quart import Quart
from quart.typing import TestClientProtocol

from flask_core.logging import AAAJsonFormatter, AAATextFormatter
from router.state import RouterState
from tests.support.audit import wait_for_records
from tests.support.keys import KeyFactory


async def test_keys_stay_out_of_log_lines_and_audit_records(
    app: Quart,
    client: TestClientProtocol,
    api_key: KeyFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    admin = await api_key("admin")
    user = await api_key("user", communities=["c1"])
    bogus = "rh_0123456789ab_" + "Q" * 43
    caplog.set_level(logging.INFO)
    created = await client.post(
        "/api/v1/admin/keys", json={"name": "n", "role": "core"}, headers={"X-API-Key": admin}
    )
    minted = (await created.get_json())["key"]
    rotated = await client.post(
        f"/api/v1/admin/keys/{(await created.get_json())['id']}/rotate",
        json={"grace_seconds": 5},
        headers={"X-API-Key": admin},
    )
    rotated_key = (await rotated.get_json())["key"]
    await client.get("/api/v1/admin/keys", headers={"X-API-Key": bogus})
    await client.get("/api/v1/admin/keys", headers={"X-API-Key": user})
    await client.get("/api/v1/admin/keys", headers={"X-API-Key": minted})
    secrets = (admin, user, bogus, minted, rotated_key)

    lines = [
        formatter.format(record)
        for record in caplog.records
        for formatter in (AAAJsonFormatter(), AAATextFormatter())
    ]
    assert any('"event_type": "AUTH"' in line and "invalid key" in line for line in lines)
    assert any('"event_type": "AUTHZ"' in line for line in lines)
    state: RouterState = app.extensions["router"]
    await wait_for_records(state, 5)
    rows = await state.dal.fetch("SELECT * FROM audit_log")
    stored = " ".join(str(dict(row)) for row in rows)
    for secret in secrets:
        assert all(secret not in line for line in lines)
        assert secret not in stored
        assert secret.split("_", 2)[2] not in stored
