"""The key store unreachable: a clear 503, never a 500 and never a stale acceptance."""

from __future__ import annotations

from dataclasses import replace

from router.app import create_app
from router.settings import RouterSettings
from tests.support.keys import KeyFactory
from tests.support.proxy import PostgresProxy


async def test_unknown_keys_get_503_while_the_database_is_away(
    settings: RouterSettings, api_key: KeyFactory
) -> None:
    assert settings.database_url
    async with PostgresProxy(settings.database_url) as proxy:
        application = create_app(replace(settings, database_url=proxy.url))
        async with application.test_app():
            key = await api_key("admin", app=application)
            client = application.test_client()
            await proxy.cut()
            application.extensions["router"].keys.authenticator.invalidate()
            response = await client.get("/api/v1/admin/keys", headers={"X-API-Key": key})
            assert response.status_code == 503
            assert (await response.get_json())["error"] == "module_unavailable"
            missing = await client.get("/api/v1/admin/keys")
            assert missing.status_code == 401  # no key needs no database
            await proxy.start()
            response = await client.get("/api/v1/admin/keys", headers={"X-API-Key": key})
            assert response.status_code == 200
