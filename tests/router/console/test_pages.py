"""The console's pages driven like an admin would: keys, communities, modules, dead letters."""

from __future__ import annotations

import json

import httpx
from quart import Quart
from quart.typing import TestClientProtocol

from router.state import RouterState
from tests.support.keys import KeyFactory
from tests.support.standin import registration

from .conftest import Console

HOSTILE = "<img src=x onerror=alert(1)>"


def _state(app: Quart) -> RouterState:
    state: RouterState = app.extensions["router"]
    return state


async def _admin_api(url: str, key: str, method: str, path: str, body: object = None) -> object:
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}) as client:
        response = await client.request(method, f"/api/v1{path}", json=body)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


async def test_create_a_key_see_its_secret_once_then_revoke_it(
    console: Console, admin_key: str
) -> None:
    page = console.page
    await console.sign_in(admin_key)
    await page.fill("#key-create [name=name]", "chat bot")
    await page.select_option("#key-create [name=role]", "trigger")
    await page.fill("#key-create [name=communities]", "c1")
    await page.click("#key-create button[type=submit]")
    secret = await page.locator("#new-secret-value").text_content()
    assert secret and secret.startswith("rh_")
    prefix = secret.split("_")[1]
    async with httpx.AsyncClient(base_url=console.url) as client:
        works = await client.get(
            "/api/v1/communities/resolve?platform=twitch&channel_id=1",
            headers={"X-API-Key": secret},
        )
    assert works.status_code == 404  # the key authenticates (a bad key would be 401)

    await page.click("#dismiss-secret")
    assert await page.locator("#new-secret").count() == 0
    await page.reload()
    await page.wait_for_selector("#key-list table")
    assert secret not in await page.content()

    await page.click(f"button[data-action=revoke][data-prefix='{prefix}']")
    await page.click("#confirm-revoke")
    await page.wait_for_selector(f"#keys-status:has-text('Revoked {prefix}')")
    async with httpx.AsyncClient(base_url=console.url) as client:
        refused = await client.get(
            "/api/v1/communities/resolve?platform=twitch&channel_id=1",
            headers={"X-API-Key": secret},
        )
    assert refused.status_code == 401


async def test_rotate_shows_the_new_secret(console: Console, admin_key: str) -> None:
    created = await _admin_api(
        console.url,
        admin_key,
        "POST",
        "/admin/keys",
        {"name": "old", "role": "user", "communities": ["c1"]},
    )
    assert isinstance(created, dict)
    await console.sign_in(admin_key)
    await console.page.click(f"button[data-action=rotate][data-prefix='{created['prefix']}']")
    await console.page.fill("#key-action [name=grace_seconds]", "30")
    await console.page.click("#key-action button[type=submit]")
    secret = await console.page.locator("#new-secret-value").text_content()
    assert secret and secret.startswith("rh_") and secret != created["key"]


async def test_filter_keys_by_state(console: Console, admin_key: str) -> None:
    for name in ("keep", "drop"):
        made = await _admin_api(
            console.url,
            admin_key,
            "POST",
            "/admin/keys",
            {"name": name, "role": "user", "communities": ["c1"]},
        )
        assert isinstance(made, dict)
    await _admin_api(console.url, admin_key, "DELETE", f"/admin/keys/{made['id']}")
    await console.sign_in(admin_key)
    await console.page.select_option("#key-filters [name=state]", "revoked")
    async with console.page.expect_response("**/api/v1/admin/keys?*state=revoked*"):
        await console.page.click("#key-filters button[type=submit]")
    await console.page.wait_for_function(
        "() => document.querySelectorAll('#key-list tbody tr').length === 1"
    )
    names = await console.page.locator("#key-list tbody tr td:nth-child(2)").all_text_contents()
    assert names == ["drop"]


async def test_link_and_unlink_a_channel(console: Console, admin_key: str) -> None:
    page = console.page
    await console.sign_in(admin_key)
    await console.open("communities")
    await page.fill("#community-create [name=id]", "owls")
    await page.fill("#community-create [name=name]", "Night Owls")
    await page.click("#community-create button[type=submit]")
    await page.click("button[data-action=open][data-id=owls]")
    await page.fill("#channel-link [name=platform]", "twitch")
    await page.fill("#channel-link [name=channel_id]", "44429626")
    await page.click("#channel-link button[type=submit]")
    await page.wait_for_selector("#community-detail td:has-text('44429626')")
    async with httpx.AsyncClient(base_url=console.url, headers={"X-API-Key": admin_key}) as client:
        resolved = await client.get(
            "/api/v1/communities/resolve?platform=twitch&channel_id=44429626"
        )
        assert resolved.json() == {"community_id": "owls"}
        await page.click("button[data-action=unlink][data-channel='44429626']")
        await page.wait_for_selector("#community-detail :text('No channel linked.')")
        gone = await client.get("/api/v1/communities/resolve?platform=twitch&channel_id=44429626")
    assert gone.status_code == 404


async def test_deleting_a_community_with_active_keys_shows_the_conflict(
    console: Console, admin_key: str
) -> None:
    await _admin_api(
        console.url, admin_key, "POST", "/admin/communities", {"id": "busy", "name": "Busy"}
    )
    await _admin_api(
        console.url,
        admin_key,
        "POST",
        "/admin/keys",
        {"name": "k", "role": "user", "communities": ["busy"]},
    )
    await console.sign_in(admin_key)
    await console.open("communities")
    await console.page.click("button[data-action=delete][data-id=busy]")
    await console.page.click("#confirm-delete")
    status = console.page.locator("#communities-status.error")
    await status.wait_for()
    assert "key" in (await status.text_content() or "").lower()


async def test_a_scoped_admin_sees_only_its_community(
    console: Console, admin_key: str, api_key: KeyFactory
) -> None:
    for community in ("c1", "c2"):
        await _admin_api(
            console.url,
            admin_key,
            "POST",
            "/admin/communities",
            {"id": community, "name": f"name-{community}"},
        )
        await _admin_api(
            console.url,
            admin_key,
            "POST",
            "/admin/keys",
            {"name": f"key-{community}", "role": "user", "communities": [community]},
        )
    scoped = await api_key("admin", communities=["c1"])
    await console.sign_in(scoped)
    await console.page.wait_for_selector("#key-list table")
    names = await console.page.locator("#key-list tbody tr td:nth-child(2)").all_text_contents()
    assert "key-c1" in names and "key-c2" not in names and "test-admin-1" not in names
    await console.open("communities")
    await console.page.wait_for_selector("#community-list table")
    ids = await console.page.locator("#community-list tbody tr td:first-child").all_text_contents()
    assert ids == ["c1"]
    await console.open("audit")
    await console.page.click("#verify-chain")
    verdict = console.page.locator("#audit-verify-result.error")
    await verdict.wait_for()
    async with httpx.AsyncClient(base_url=console.url) as client:
        refused = await client.get("/api/v1/admin/audit/verify", headers={"X-API-Key": scoped})
    assert refused.status_code == 403
    assert await verdict.text_content() == refused.json()["detail"]


async def test_a_hostile_community_name_is_shown_as_text(console: Console, admin_key: str) -> None:
    await _admin_api(
        console.url, admin_key, "POST", "/admin/communities", {"id": "evil", "name": HOSTILE}
    )
    await console.sign_in(admin_key)
    await console.open("communities")
    cell = console.page.locator("#community-list .community-name")
    assert await cell.text_content() == HOSTILE
    await console.page.click("button[data-action=open][data-id=evil]")
    await console.page.wait_for_selector("#community-detail h2")
    await console.open("audit")
    await console.page.wait_for_selector("#audit-list table")
    await console.page.wait_for_timeout(300)  # give an injected handler the chance to fire
    assert await console.page.locator("#view img").count() == 0
    assert console.dialogs == []


async def test_modules_page_shows_breakers_and_resets_one(
    console: Console, admin_key: str, client: TestClientProtocol
) -> None:
    body = registration("echo", "http://127.0.0.1:9", instance_id="i1")
    response = await client.post("/api/v1/register", json=body, headers={"X-API-Key": admin_key})
    assert response.status_code in (200, 201)
    await console.sign_in(admin_key)
    await console.open("modules")
    row = console.page.locator("article[data-module=echo] tbody tr")
    await row.wait_for()
    assert "closed" in (await row.text_content() or "")
    await console.page.click("button[data-action=reset][data-instance=i1]")
    await console.page.wait_for_selector("#modules-status:has-text('Breaker of echo/i1 closed')")
    health = await console.page.locator("#services-health").text_content() or ""
    assert "Overall:" in health and "echo" in health and "1 of 1" in health


async def test_dead_letters_are_listed_and_replayed(
    console: Console, admin_key: str, app: Quart
) -> None:
    envelope = {"event_id": "e-9", "type": "chat.message", "community_id": "c1"}
    await _state(app).events.deadletters.bury(
        "c1",
        "1-0",
        {b"e": json.dumps(envelope).encode(), b"t": b"chat.message"},
        {"module": "quotes", "attempts": 5, "error": "HTTP 500"},
    )
    await console.sign_in(admin_key)
    await console.open("deadletters")
    await console.page.fill("#view form [name=community]", "c1")
    await console.page.click("#view form button[type=submit]")
    replay = console.page.locator("#deadletter-list button[data-action=replay]")
    dead_id = await replay.get_attribute("data-id")
    assert dead_id and dead_id.startswith("c1:")
    await replay.click()
    await console.page.wait_for_selector(f"#deadletters-status:has-text('Replayed {dead_id}')")
    await console.page.wait_for_selector("#deadletter-list :text('No dead letter.')")
