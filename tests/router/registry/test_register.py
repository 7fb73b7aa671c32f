"""POST /api/v1/register, heartbeats, deregistration and the module listing (SPEC §4)."""

from __future__ import annotations

from quart import Quart
from quart.typing import TestClientProtocol

from tests.support.keys import KeyFactory
from tests.support.standin import registration
from tests.support.stores import ALL_REDIS_MODES
from tests.support.waiting import wait_until

pytestmark = ALL_REDIS_MODES

URL = "http://127.0.0.1:9"


async def register(client: TestClientProtocol, key: str, body: dict) -> tuple[int, dict]:
    response = await client.post("/api/v1/register", json=body, headers={"X-API-Key": key})
    return response.status_code, await response.get_json()


async def test_first_registration_is_201_and_the_same_instance_again_200(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    key = await api_key("action", module_id="quotes")
    status, body = await register(client, key, registration("quotes", URL))
    assert status == 201
    assert body["module_id"] == "quotes" and body["instance_id"] == "i1"
    assert body["lease_ttl_seconds"] == 30 and 0 < body["heartbeat_interval_seconds"] < 30
    assert body["registered_at"].endswith("Z")
    again, second = await register(client, key, registration("quotes", URL))
    assert again == 200 and second["registered_at"] == body["registered_at"]


async def test_invalid_bodies_name_each_field(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    key = await api_key("action", module_id="quotes")
    bad = {
        **registration("Quotes!", URL),
        "module_version": "one",
        "module_type": "robot",
        "actions": [{"id": "x", "path": "no-slash"}],
    }
    status, body = await register(client, key, bad)
    assert status == 400 and body["error"] == "invalid_input"
    assert {"module_id", "module_version", "module_type", "actions.0.path"} <= set(body["fields"])
    missing = {k: v for k, v in registration("quotes", URL).items() if k != "base_url"}
    status, body = await register(client, key, missing)
    assert status == 400 and "port" in body["fields"]
    foreign = registration("quotes", URL, commands={"!quote": "other.action"})
    status, body = await register(client, key, foreign)
    assert status == 400 and "commands" in body["fields"]


async def test_base_url_defaults_to_the_peer_address_and_port(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    key = await api_key("action", module_id="quotes")
    body = {k: v for k, v in registration("quotes", URL).items() if k != "base_url"}
    status, _ = await register(client, key, {**body, "port": 8020})
    assert status == 201
    listing = await client.get("/api/v1/modules/quotes", headers={"X-API-Key": key})
    assert listing.status_code == 403  # action keys do not read the registry
    admin = await api_key("admin")
    module = await (
        await client.get("/api/v1/modules/quotes", headers={"X-API-Key": admin})
    ).get_json()
    assert module["instances"][0]["base_url"].endswith(":8020")
    assert module["instances"][0]["base_url"].startswith("http://")


async def test_the_waddlebot_body_registers_with_the_defaults(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    key, admin = await api_key("action", module_id="stats"), await api_key("admin")
    body = {
        "module_id": "stats",
        "module_version": "0.2.0",
        "endpoints": ["/api/v1/stats", "/metrics/summary"],
        "health_check": "/health",
        "port": 8030,
    }
    status, answer = await register(client, key, body)
    assert status == 201 and answer["module_id"] == "stats"
    module = await (
        await client.get("/api/v1/modules/stats", headers={"X-API-Key": admin})
    ).get_json()
    assert module["module_type"] == "action"
    assert module["actions"] == [] and module["commands"] == []
    assert module["subscriptions"] == []
    assert module["endpoints"] == ["/api/v1/stats", "/metrics/summary"]
    assert module["instances"][0]["base_url"].endswith(":8030")


async def test_names_claimed_by_another_module_conflict(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    key = await api_key("admin")  # a global admin may register any module
    first = registration("quotes", URL, commands={"!quote": "quotes.echo"})
    assert (await register(client, key, first))[0] == 201
    same_command = registration("jokes", URL, commands={"!QUOTE": "jokes.echo"})
    status, body = await register(client, key, same_command)
    assert status == 409 and body["error"] == "conflict" and "!quote" in body["detail"]
    same_action = {**registration("jokes", URL), "actions": first["actions"]}
    assert (await register(client, key, same_action))[0] == 409
    assert (await register(client, key, registration("jokes", URL)))[0] == 201


async def test_a_module_bound_key_manages_only_its_module(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    bound = await api_key("action", module_id="quotes")
    assert (await register(client, bound, registration("quotes", URL)))[0] == 201
    status, body = await register(client, bound, registration("jokes", URL))
    assert status == 403 and body["error"] == "forbidden"
    headers = {"X-API-Key": bound}
    other = "/api/v1/modules/jokes/instances/i1"
    assert (await client.post(f"{other}/heartbeat", headers=headers)).status_code == 403
    assert (await client.delete(other, headers=headers)).status_code == 403


async def test_heartbeat_renews_and_deregistration_removes(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    key = await api_key("action", module_id="quotes")
    headers = {"X-API-Key": key}
    await register(client, key, registration("quotes", URL))
    beat = await client.post("/api/v1/modules/quotes/instances/i1/heartbeat", headers=headers)
    assert beat.status_code == 200
    assert (await beat.get_json())["lease_expires_at"].endswith("Z")
    unknown = await client.post("/api/v1/modules/quotes/instances/nope/heartbeat", headers=headers)
    assert unknown.status_code == 404
    gone = await client.delete("/api/v1/modules/quotes/instances/i1", headers=headers)
    assert gone.status_code == 204
    after = await client.post("/api/v1/modules/quotes/instances/i1/heartbeat", headers=headers)
    assert after.status_code == 404
    assert (
        await client.delete("/api/v1/modules/quotes/instances/i1", headers=headers)
    ).status_code == 404


async def test_listing_has_the_spec_shape(
    app: Quart, client: TestClientProtocol, api_key: KeyFactory
) -> None:
    key, admin = await api_key("action", module_id="quotes"), await api_key("core")
    body = registration(
        "quotes", URL, commands={"!quote": "quotes.echo"}, subscriptions=("chat.message",)
    )
    await register(client, key, body)
    listing = await client.get("/api/v1/modules", headers={"X-API-Key": admin})
    assert listing.status_code == 200
    (item,) = (await listing.get_json())["items"]
    assert item["module_id"] == "quotes" and item["module_version"] == "1.0.0"
    assert item["module_type"] == "action" and item["status"] == "healthy"
    assert item["actions"] == [{"id": "quotes.echo", "path": "/actions/echo", "timeout_ms": 1000}]
    assert item["commands"] == [{"name": "!quote", "action": "quotes.echo"}]
    assert item["subscriptions"] == ["chat.message"]
    (instance,) = item["instances"]
    assert instance["instance_id"] == "i1" and instance["base_url"] == URL
    assert instance["status"] == "healthy" and instance["breaker"] == "closed"
    assert instance["lease_expires_at"].endswith("Z")
    missing = await client.get("/api/v1/modules/nope", headers={"X-API-Key": admin})
    assert missing.status_code == 404
    registry = app.extensions["router"].registry
    assert registry.command("!QUOTE", "c1").action_id == "quotes.echo"
    assert [m.module_id for m in await registry.subscribers("chat.message", "c1")] == ["quotes"]


async def test_registry_changes_are_audited(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    key = await api_key("admin")
    headers = {"X-API-Key": key}
    await register(client, key, registration("quotes", URL))
    await client.post("/api/v1/modules/quotes/instances/i1/heartbeat", headers=headers)
    await client.delete("/api/v1/modules/quotes/instances/i1", headers=headers)
    await register(client, key, registration("jokes", URL, actions=()))
    refused = registration("other", URL, commands={}, actions=())
    refused["actions"] = [{"id": "quotes.echo", "path": "/a"}]
    assert (await register(client, key, refused))[0] == 409

    async def all_audited() -> bool:  # the trail writes in the background
        response = await client.get("/api/v1/admin/audit?category=AUDIT", headers=headers)
        return len((await response.get_json())["items"]) >= 4

    await wait_until(all_audited)
    response = await client.get("/api/v1/admin/audit?category=AUDIT", headers=headers)
    items = (await response.get_json())["items"]
    seen = [
        (i["action"], i["result"], i["details"]["status"], i["details"].get("module_id"))
        for i in reversed(items)
    ]
    assert seen == [
        ("POST /api/v1/register", "success", 201, "quotes"),
        ("DELETE /api/v1/modules/<module_id>/instances/<instance_id>", "success", 204, "quotes"),
        ("POST /api/v1/register", "success", 201, "jokes"),
        ("POST /api/v1/register", "failure", 409, None),
    ]
