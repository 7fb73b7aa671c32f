"""``admin keys`` and ``admin communities`` against a real router."""

from __future__ import annotations

import pytest

from tests.support.keys import KeyFactory

from .conftest import Cli, run_cli


async def test_keys_create_show_rotate_revoke(cli: Cli) -> None:
    created = (
        await cli.ok(
            "keys", "create", "--name", "bot", "--role", "trigger", "--community", "c1", "--json"
        )
    ).json()
    assert created["key"].startswith(f"rh_{created['prefix']}_")
    shown = (await cli.ok("keys", "show", created["id"], "--json")).json()
    assert shown["name"] == "bot" and "key" not in shown
    table = await cli.ok("keys", "show", created["id"])
    assert "prefix" in table.out and created["prefix"] in table.out

    rotated = await cli.ok("keys", "rotate", created["id"], "--grace-seconds", "60")
    assert "key (shown only now): rh_" in rotated.out
    assert created["prefix"] not in rotated.out.split("key (shown only now):")[1]

    await cli.ok("keys", "revoke", created["id"])
    assert (await cli.ok("keys", "show", created["id"], "--json")).json()["revoked_at"]


async def test_a_problem_is_one_error_line_and_exit_1(cli: Cli, api_key: KeyFactory) -> None:
    refused = await cli(
        "keys", "create", "--name", "x", "--role", "admin", key="rh_000000000000_nope"
    )
    assert refused.code == 1 and refused.out == ""
    assert refused.err.strip().count("\n") == 0 and refused.err.startswith(
        "error: 401 unauthorized:"
    )
    scoped = await api_key("admin", communities=["c1"])
    denied = await cli("keys", "create", "--name", "x", "--role", "admin", key=scoped)
    assert denied.code == 1 and denied.err.startswith("error: 403 forbidden:")
    invalid = await cli("keys", "rotate", "nope", "--grace-seconds", "999999")
    assert invalid.code == 1 and "grace_seconds" in invalid.err


async def test_url_and_key_come_from_the_environment(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROUTER_URL", cli.url)
    monkeypatch.setenv("ROUTER_API_KEY", cli.key)
    found = await run_cli(["admin", "communities", "list", "--json"])
    assert found.code == 0 and found.out.startswith("{")
    monkeypatch.delenv("ROUTER_API_KEY")
    keyless = await run_cli(["admin", "communities", "list"])
    assert keyless.code == 1 and "no API key" in keyless.err


async def test_unreachable_router_is_one_error_line(cli: Cli) -> None:
    closed = Cli("http://127.0.0.1:9", cli.key)
    failed = await closed("communities", "list")
    assert failed.code == 1 and failed.err.startswith("error: cannot reach http://127.0.0.1:9")


async def test_names_cannot_steer_the_terminal(cli: Cli) -> None:
    await cli.ok("communities", "create", "evil\x1b[2J name", "--id", "evil")
    out = (await cli.ok("communities", "list")).out
    assert "\x1b" not in out and "\\x1b[2J" in out
