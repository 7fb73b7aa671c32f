"""The quotes module end to end: a real router and the module, both on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from flask_core.module import ModuleSettings
from flask_core.tokens import SigningKey
from modules.quotes.module import QuotesModule, QuotesSettings
from router.app import create_app
from router.settings import RouterSettings
from tests.support.keys import KeyFactory
from tests.support.servers import free_port, serve_app

from ..conftest import wait_running

REPO = Path(__file__).resolve().parents[3]


@dataclass
class Setup:
    router_url: str
    module_url: str
    user_key: str
    admin_key: str
    module: QuotesModule
    http: httpx.AsyncClient
    signing_key: SigningKey

    def token(self, action: str, body: bytes, community: str = "c1") -> str:
        """The router's token for a direct call of the module with exactly ``body``."""
        return self.signing_key.issue(
            audience="quotes",
            subject="twitch:alice",
            community_id=community,
            action_id=action,
            body=body,
        )

    async def call(self, action: str, community: str, **params: object) -> httpx.Response:
        return await self.http.post(
            f"{self.router_url}/api/v1/action/{action}",
            json={"user_id": "twitch:alice", "params": params},
            headers={"X-API-Key": self.user_key, "X-Community-ID": community},
        )


@pytest.fixture
async def setup(
    settings: RouterSettings, database_url: str, api_key: KeyFactory
) -> AsyncIterator[Setup]:
    router_app = create_app(replace(settings, lease_ttl_seconds=6))
    async with serve_app(router_app) as router_url:
        module_key = await api_key("action", module_id="quotes", app=router_app)
        port = free_port()
        module_settings = ModuleSettings(
            name="quotes",
            version="0.2.0",
            port=port,
            router_url=router_url,
            router_api_key=module_key,
            instance_id="quotes-test",
        )
        module = QuotesModule(QuotesSettings(module_settings, database_url))
        async with serve_app(module.app, port) as module_url, httpx.AsyncClient() as http:
            await wait_running(module)
            yield Setup(
                router_url,
                module_url,
                await api_key("user", app=router_app),
                await api_key("admin", app=router_app),
                module,
                http,
                router_app.extensions["router"].signing_key,
            )


async def test_quotes_registers_its_actions_and_commands(setup: Setup) -> None:
    response = await setup.http.get(
        f"{setup.router_url}/api/v1/modules/quotes", headers={"X-API-Key": setup.admin_key}
    )
    module = response.json()
    assert module["module_type"] == "action" and module["status"] == "healthy"
    assert sorted(a["id"] for a in module["actions"]) == ["quote.add", "quote.list", "quote.random"]
    assert {c["name"]: c["action"] for c in module["commands"]} == {
        "!quote": "quote.random",
        "!addquote": "quote.add",
    }
    health = (await setup.http.get(f"{setup.module_url}/health")).json()
    assert health["status"] == "healthy" and health["module"] == "quotes"
    assert health["dependencies"] == {"database": "connected"}


async def test_quotes_are_added_listed_and_drawn_per_community(setup: Setup) -> None:
    first = await setup.call("quote.add", "c1", text="To be or not to be")
    assert first.status_code == 200
    assert first.json()["result"]["quote"]["number"] == 1
    assert first.json()["result"]["quote"]["added_by"] == "twitch:alice"
    await setup.call("quote.add", "c1", text="Veni vidi vici")
    await setup.call("quote.add", "c2", text="Only in c2")

    listed = (await setup.call("quote.list", "c1")).json()["result"]["items"]
    assert [q["text"] for q in listed] == ["To be or not to be", "Veni vidi vici"]
    other = (await setup.call("quote.list", "c2")).json()["result"]["items"]
    assert [(q["number"], q["text"]) for q in other] == [(1, "Only in c2")]

    drawn = (await setup.call("quote.random", "c1")).json()["result"]
    assert drawn["quote"]["text"] in ("To be or not to be", "Veni vidi vici")
    by_number = (await setup.call("quote.random", "c1", text="2")).json()["result"]
    assert by_number["text"] == "#2: Veni vidi vici"
    assert (await setup.call("quote.random", "c2", text="2")).json()["result"]["quote"] is None
    empty = (await setup.call("quote.random", "c3")).json()["result"]
    assert empty == {"quote": None, "text": "No quotes yet."}


async def test_a_bad_request_comes_back_through_the_router_as_400(setup: Setup) -> None:
    response = await setup.call("quote.add", "c1", text="   ")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic dXNlcjpwYXNz", "forged"])
async def test_a_call_without_the_routers_token_is_401(
    setup: Setup, authorization: str | None
) -> None:
    headers = {"X-Community-ID": "c1"}
    if authorization == "forged":  # right claims and kid, signed by a key the router never had
        jwks = (await setup.http.get(f"{setup.router_url}/.well-known/jwks.json")).json()
        forger = SigningKey(Ed25519PrivateKey.generate(), jwks["keys"][0]["kid"])
        token = forger.issue(
            audience="quotes", subject="x:1", community_id="c1", action_id="quote.add"
        )
        headers["Authorization"] = f"Bearer {token}"
    elif authorization is not None:
        headers["Authorization"] = authorization
    response = await setup.http.post(
        f"{setup.module_url}/actions/quote.add",
        json={"params": {"text": "sneaky"}},
        headers=headers,
    )
    assert response.status_code == 401
    listed = (await setup.call("quote.list", "c1")).json()["result"]["items"]
    assert listed == []


def test_a_missing_setting_stops_start_up_with_one_line_naming_it() -> None:
    env = {"PATH": os.environ["PATH"], "ROUTER_URL": "http://127.0.0.1:1", "ROUTER_API_KEY": "k"}
    done = subprocess.run(
        [sys.executable, "-m", "modules.quotes"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "quotes: configuration error: DATABASE_URL is required but not set"
    ]


HOSTILE_PARAMS = [
    ("quote.random", {"number": 2147483648}),
    ("quote.random", {"number": -1}),
    ("quote.random", {"number": True}),
    ("quote.random", {"number": 1.5}),
    ("quote.random", {"number": "12"}),
    ("quote.random", {"text": "#99999999999"}),
    ("quote.random", {"text": "١٢"}),  # Unicode digits are not a quote number
    ("quote.random", {"text": ["1"]}),
    ("quote.list", {"offset": 1e20}),
    ("quote.list", {"offset": 10**20}),
    ("quote.list", {"limit": 0}),
    ("quote.list", {"limit": "5"}),
    ("quote.add", {"text": "nul \x00 inside"}),
    ("quote.add", {"text": "x" * 501}),
    ("quote.add", {"text": 5}),
    ("quote.add", {"text": {"nested": "object"}}),
    ("quote.add", {}),
]


@pytest.mark.parametrize(("action", "params"), HOSTILE_PARAMS)
async def test_malformed_params_get_400_with_fields_never_500(
    setup: Setup, action: str, params: dict[str, object]
) -> None:
    response = await setup.http.post(
        f"{setup.module_url}/actions/{action}",
        content=(body := json.dumps({"params": params}).encode()),
        headers={
            "Authorization": f"Bearer {setup.token(action, body)}",
            "X-Community-ID": "c1",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["error"] == "invalid_input"
    assert any(name.startswith("params.") for name in problem["fields"])


async def test_a_user_key_cannot_open_the_shared_breaker_with_bad_params(setup: Setup) -> None:
    # The attack: out-of-range numbers and NUL text, through the router, again and again.
    for _ in range(4):
        for action, params in (
            ("quote.random", {"number": 2147483648}),
            ("quote.list", {"offset": 1e20}),
            ("quote.add", {"text": "a\x00b"}),
        ):
            response = await setup.call(action, "c1", **params)
            assert response.status_code == 400, response.text
    # The breaker stayed closed: another community is served as before (was 0 of 50).
    answers = [(await setup.call("quote.random", "c2")).status_code for _ in range(50)]
    assert answers == [200] * 50
