"""``ROUTER_MODULE_NETWORKS``: registrations and health probes stay inside the fence.

The attack: the registry as a port-scan oracle. Whoever may register names any ``base_url``
and the prober fetches it, so registrations outside the fence are refused and the prober
checks the resolved address before every fetch.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import httpx
import pytest
from quart.typing import TestClientProtocol

from flask_core.settings import SettingsError
from router.app import create_app
from router.registry.networks import ModuleNetworks, Reachable, parse_networks
from router.registry.prober import HealthProber
from router.settings import RouterSettings
from tests.support.keys import KeyFactory
from tests.support.servers import serve_app
from tests.support.standin import Behaviour, registration, standin_app
from tests.support.waiting import eventually

LOOPBACK = parse_networks("127.0.0.0/8, ::1/128")


def test_bad_cidrs_stop_start_up_naming_the_variable() -> None:
    for bad in ("10.0.0.0/33", "not-a-network", "10.0.0.0/8, bogus", " , "):
        with pytest.raises(SettingsError, match="ROUTER_MODULE_NETWORKS"):
            RouterSettings.from_env({"ROUTER_MODULE_NETWORKS": bad})
    loaded = RouterSettings.from_env({"ROUTER_MODULE_NETWORKS": "10.0.0.0/8,fd00::/8"})
    assert [str(n) for n in loaded.module_networks] == ["10.0.0.0/8", "fd00::/8"]
    assert RouterSettings.from_env({}).module_networks == ()


async def test_names_are_resolved_and_every_address_must_be_inside() -> None:
    fence = ModuleNetworks(LOOPBACK)
    assert await fence.check("http://127.0.0.1:8020") is not None
    assert await fence.check("http://localhost:8020/health") is not None
    assert await fence.check("http://10.1.2.3:8020") is None
    assert await fence.check("http://[::ffff:10.0.0.1]:80") is None
    assert await fence.check("http://name.invalid:80") is None  # does not resolve
    assert await fence.check("http://:80") is None
    assert await ModuleNetworks().check("http://10.1.2.3:8020") is not None  # no fence


def test_plain_http_is_pinned_to_the_checked_address() -> None:
    v4, v6 = ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")
    checked = Reachable("http://localhost:8020/health", (v6, v4))
    assert checked.pinned() == [
        ("http://[::1]:8020/health", {"Host": "localhost:8020"}),
        ("http://127.0.0.1:8020/health", {"Host": "localhost:8020"}),
    ]
    tls = Reachable("https://localhost:8443/h", (v4,))
    assert tls.pinned() == [("https://localhost:8443/h", {})]
    assert Reachable("http://any:1/h", ()).pinned() == [("http://any:1/h", {})]


async def test_a_registration_outside_the_networks_is_400(
    settings: RouterSettings, api_key: KeyFactory
) -> None:
    app = create_app(replace(settings, module_networks=parse_networks("10.20.0.0/16")))
    async with app.test_app():
        client: TestClientProtocol = app.test_client()
        key = await api_key("action", module_id="quotes", app=app)
        for url in ("http://127.0.0.1:8020", "http://localhost:8020", "http://169.254.169.254"):
            response = await client.post(
                "/api/v1/register",
                json=registration("quotes", url),
                headers={"X-API-Key": key},
            )
            body = await response.get_json()
            assert response.status_code == 400, url
            assert body["error"] == "invalid_input" and "base_url" in body["fields"]
        inside = registration("quotes", "http://10.20.1.2:8020")
        response = await client.post("/api/v1/register", json=inside, headers={"X-API-Key": key})
        assert response.status_code == 201
        assert app.extensions["router"].registry.module("quotes") is not None


async def test_the_prober_never_fetches_an_address_outside_the_networks(
    settings: RouterSettings, api_key: KeyFactory
) -> None:
    app = create_app(replace(settings, module_networks=LOOPBACK, health_interval_seconds=3600))
    behaviour = Behaviour()
    async with app.test_app(), serve_app(standin_app("i1", behaviour)) as url:
        key = await api_key("action", module_id="quotes", app=app)
        local_name = url.replace("127.0.0.1", "localhost")
        response = await app.test_client().post(
            "/api/v1/register",
            json=registration("quotes", local_name),
            headers={"X-API-Key": key},
        )
        assert response.status_code == 201
        state = app.extensions["router"]
        async with httpx.AsyncClient() as http:
            prober = HealthProber(
                state.registry,
                state.redis,
                http,
                state.audit,
                interval_seconds=0.5,  # one probe per instance per 0.45 s (the probe lock)
                timeout_seconds=1.0,
                failures_to_down=2,
                reap_after_seconds=3600,
            )
            await prober.probe_all()
            assert behaviour.health_checks == 1  # inside: probed through the checked address
            # The name now leads outside the fence (as if its DNS record had been re-pointed).
            state.registry.networks = ModuleNetworks(parse_networks("10.0.0.0/8"))

            async def probed_down() -> bool:
                await prober.probe_all()
                # Read afresh: a reload of the snapshot replaces the instance objects.
                (instance,) = state.registry.module("quotes").instances
                return not instance.healthy

            assert await eventually(probed_down)
        assert behaviour.health_checks == 1
