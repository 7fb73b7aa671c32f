"""Registry ownership (SPEC §3, §4): the attacks on the global registry, each refused.

A key bound to a module, or a global admin, changes that module; everyone else gets 403,
audited. An instance serves only the communities of the key that registered it.
"""

from __future__ import annotations

from typing import Any

from quart import Quart
from quart.typing import TestClientProtocol

from tests.support.audit import wait_for_records
from tests.support.keys import KeyFactory
from tests.support.servers import serve_app
from tests.support.standin import Behaviour, registration, standin_app

QUOTES = registration("quotes", "http://127.0.0.1:9", commands={"!quote": "quotes.echo"})


async def _register(client: TestClientProtocol, key: str, body: dict[str, Any]) -> int:
    response = await client.post("/api/v1/register", json=body, headers={"X-API-Key": key})
    return response.status_code


async def _call(client: TestClientProtocol, key: str, community: str) -> int:
    body = {"user_id": "twitch:1", "params": {"secret": f"of {community}"}}
    response = await client.post(
        "/api/v1/action/quotes.echo",
        json=body,
        headers={"X-API-Key": key, "X-Community-ID": community},
    )
    return response.status_code


async def _strangers(api_key: KeyFactory) -> dict[str, str]:
    """Every kind of key that must not touch the quotes module."""
    return {
        "unbound trigger of A": await api_key("trigger", communities=["A"]),
        "unbound action": await api_key("action"),
        "unbound core": await api_key("core"),
        "bound to another module": await api_key("action", module_id="evil"),
        "community-scoped admin": await api_key("admin", communities=["A"]),
    }


async def test_no_stranger_adds_an_instance_to_quotes_or_re_registers_it(
    app: Quart, client: TestClientProtocol, api_key: KeyFactory
) -> None:
    owner = await api_key("action", communities=["A"], module_id="quotes")
    assert await _register(client, owner, QUOTES) == 201
    hijack = {**QUOTES, "instance_id": "evil-1", "base_url": "http://127.0.0.1:6666"}
    emptied = {**QUOTES, "actions": [], "commands": []}
    strangers = await _strangers(api_key)
    for label, key in strangers.items():
        assert await _register(client, key, hijack) == 403, label
        assert await _register(client, key, emptied) == 403, label
    registry = app.extensions["router"].registry
    module = registry.module("quotes")
    assert [i.instance_id for i in module.instances] == ["i1"]
    assert registry.action("quotes.echo", "A") is not None
    assert registry.command("!quote", "A") is not None
    state = app.extensions["router"]
    await wait_for_records(state, 2 * len(strangers) + 1)
    rows = await state.dal.fetch(
        "SELECT category, result, reason FROM audit_log WHERE category = 'AUTHZ'"
    )
    assert len(rows) == 2 * len(strangers)
    assert {row["result"] for row in rows} == {"denied"}


async def test_no_stranger_heartbeats_or_deregisters_another_module_instance(
    app: Quart, client: TestClientProtocol, api_key: KeyFactory
) -> None:
    owner = await api_key("action", module_id="quotes")
    assert await _register(client, owner, QUOTES) == 201
    path = "/api/v1/modules/quotes/instances/i1"
    for label, key in (await _strangers(api_key)).items():
        headers = {"X-API-Key": key}
        assert (await client.delete(path, headers=headers)).status_code == 403, label
        assert (await client.post(f"{path}/heartbeat", headers=headers)).status_code == 403
    module = app.extensions["router"].registry.module("quotes")
    assert [i.instance_id for i in module.instances] == ["i1"]
    assert (await client.delete(path, headers={"X-API-Key": owner})).status_code == 204
    admin = await api_key("admin")
    assert await _register(client, admin, QUOTES) == 201  # a global admin may


async def test_an_instance_answers_only_the_communities_of_its_key(
    app: Quart, client: TestClientProtocol, api_key: KeyFactory
) -> None:
    key_a = await api_key("action", communities=["A"], module_id="quotes")
    key_b = await api_key("action", communities=["B"], module_id="quotes")
    user = await api_key("user", communities=["A", "B", "C"])
    serves_a, serves_b = Behaviour(), Behaviour()
    async with (
        serve_app(standin_app("a", serves_a)) as url_a,
        serve_app(standin_app("b", serves_b)) as url_b,
    ):
        in_a = registration("quotes", url_a, instance_id="ia")
        in_b = registration("quotes", url_b, instance_id="ib")
        assert await _register(client, key_a, in_a) == 201
        assert await _register(client, key_b, in_b) == 201
        for _ in range(4):
            assert await _call(client, user, "A") == 200
            assert await _call(client, user, "B") == 200
        assert await _call(client, user, "C") == 404  # nobody serves C
    assert {c["body"]["community_id"] for c in serves_a.calls} == {"A"}
    assert {c["body"]["community_id"] for c in serves_b.calls} == {"B"}
    assert len(serves_a.calls) == len(serves_b.calls) == 4
    module = app.extensions["router"].registry.module("quotes")
    owners = {i.instance_id: i.communities for i in module.instances}
    assert owners == {"ia": ("A",), "ib": ("B",)}


async def test_the_proxy_reaches_a_module_only_in_its_key_communities(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    owner = await api_key("action", communities=["A"], module_id="notes")
    user = await api_key("user", communities=["A", "B"])
    behaviour = Behaviour()
    async with serve_app(standin_app("n1", behaviour)) as url:
        body = {**registration("notes", url, actions=()), "endpoints": ["/actions/list"]}
        assert await _register(client, owner, body) == 201
        answers = {}
        for community in ("B", "A"):
            response = await client.post(
                "/api/v1/services/notes/actions/list",
                json={"secret": f"of {community}"},
                headers={"X-API-Key": user, "X-Community-ID": community},
            )
            answers[community] = response.status_code
    assert answers == {"B": 404, "A": 200}
    assert [call["body"] for call in behaviour.calls] == [{"secret": "of A"}]
