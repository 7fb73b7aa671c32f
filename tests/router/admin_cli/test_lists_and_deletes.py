"""``admin keys list`` filters and paging, ``communities show|delete``, ``channels unlink``."""

from __future__ import annotations

from .conftest import Cli


async def test_keys_list_filters_by_state_role_and_text(cli: Cli) -> None:
    for name, role in (("alpha-bot", "trigger"), ("beta-bot", "action"), ("gamma", "trigger")):
        await cli.ok("keys", "create", "--name", name, "--role", role, "--community", "c1")
    listed = await cli.ok("keys", "list", "--json")
    first = listed.json()["items"]
    gone = next(k for k in first if k["name"] == "gamma")
    await cli.ok("keys", "revoke", gone["id"])

    triggers = (
        await cli.ok("keys", "list", "--role", "trigger", "--state", "active", "--json")
    ).json()
    assert [k["name"] for k in triggers["items"]] == ["alpha-bot"]
    revoked = (await cli.ok("keys", "list", "--state", "revoked", "--json")).json()["items"]
    assert [k["name"] for k in revoked] == ["gamma"]
    found = (await cli.ok("keys", "list", "--q", "beta", "--json")).json()["items"]
    assert [k["name"] for k in found] == ["beta-bot"]

    table = await cli.ok("keys", "list", "--state", "revoked")
    assert table.out.splitlines()[0].split()[:4] == ["ID", "PREFIX", "NAME", "ROLE"]
    assert "gamma" in table.out and "revoked" in table.out and "alpha-bot" not in table.out


async def test_keys_list_pages_with_a_cursor_and_all(cli: Cli) -> None:
    for n in range(3):
        await cli.ok("keys", "create", "--name", f"k{n}", "--role", "user", "--community", "c1")
    page = await cli.ok("keys", "list", "--limit", "2")
    assert "more: add --cursor" in page.err
    cursor = page.err.split("--cursor ")[1].split()[0]
    rest = (await cli.ok("keys", "list", "--limit", "2", "--cursor", cursor, "--json")).json()
    everything = (await cli.ok("keys", "list", "--limit", "2", "--all", "--json")).json()
    assert len(everything) == 4  # three made here and the admin's own
    assert rest["next_cursor"] is None and len(rest["items"]) == 2


async def test_communities_and_channels_round_trip(cli: Cli) -> None:
    made = (await cli.ok("communities", "create", "Night Owls", "--id", "owls", "--json")).json()
    assert made["id"] == "owls"
    assert "owls" in (await cli.ok("communities", "list")).out
    await cli.ok("channels", "link", "owls", "twitch", "44429626")
    shown = (await cli.ok("communities", "show", "owls", "--json")).json()
    assert [(c["platform"], c["channel_id"]) for c in shown["channels"]] == [("twitch", "44429626")]
    table = await cli.ok("communities", "show", "owls")
    assert "PLATFORM" in table.out and "44429626" in table.out

    await cli.ok("channels", "unlink", "owls", "twitch", "44429626")
    assert (await cli.ok("communities", "show", "owls", "--json")).json()["channels"] == []
    await cli.ok("communities", "delete", "owls")
    missing = await cli("communities", "show", "owls")
    assert missing.code == 1 and missing.err.startswith("error: 404 not_found:")


async def test_delete_refused_while_a_key_is_scoped_to_the_community(cli: Cli) -> None:
    await cli.ok("communities", "create", "Busy", "--id", "busy")
    key = (
        await cli.ok(
            "keys", "create", "--name", "k", "--role", "user", "--community", "busy", "--json"
        )
    ).json()
    refused = await cli("communities", "delete", "busy")
    assert refused.code == 1 and refused.err.startswith("error: 409 conflict:")
    await cli.ok("keys", "revoke", key["id"])
    await cli.ok("communities", "delete", "busy")
