"""Malformed input on the keys, communities and audit routes never yields a 500."""

from __future__ import annotations

from urllib.parse import quote

from quart.typing import TestClientProtocol

from tests.support.keys import KeyFactory

ODD_TEXT = ("\x00", "a\x00b", "\ud800", "é" * 300, "' OR 1=1 --", "%", "\n", " ")


async def test_odd_bodies_and_queries_never_fail_the_server(
    client: TestClientProtocol, api_key: KeyFactory
) -> None:
    admin = await api_key("admin")
    headers = {"X-API-Key": admin}
    await client.post("/api/v1/admin/communities", json={"id": "c1", "name": "n"}, headers=headers)
    statuses = []
    for text in ODD_TEXT:
        for path, body in (
            ("/api/v1/admin/keys", {"name": text, "role": "core"}),
            ("/api/v1/admin/keys", {"name": "n", "role": text}),
            ("/api/v1/admin/keys", {"name": "n", "role": "core", "communities": [text]}),
            ("/api/v1/admin/keys", {"name": "n", "role": "core", "rate_limit": text}),
            ("/api/v1/admin/communities", {"id": text, "name": "n"}),
            ("/api/v1/admin/communities", {"name": text}),
            ("/api/v1/admin/communities/c1/channels", {"platform": "twitch", "channel_id": text}),
            ("/api/v1/admin/communities/c1/channels", {"platform": text, "channel_id": "1"}),
        ):
            response = await client.post(path, json=body, headers=headers)
            statuses.append((path, repr(text), response.status_code))
        text = quote(text, safe="", errors="surrogatepass")
        for query in (
            f"/api/v1/admin/audit?user={text}",
            f"/api/v1/admin/audit?action={text}&result={text}",
            f"/api/v1/admin/audit/export?community={text}",
            f"/api/v1/communities/resolve?platform=twitch&channel_id={text}",
            f"/api/v1/admin/keys/{text}",
        ):
            response = await client.get(query, headers=headers)
            statuses.append((query, repr(text), response.status_code))
    raw = await client.post(
        "/api/v1/admin/keys",
        data=b'{"name": "\\u0000", "role": "core"}',
        headers={**headers, "Content-Type": "application/json"},
    )
    statuses.append(("raw nul escape", "", raw.status_code))
    failures = [entry for entry in statuses if entry[2] >= 500]
    assert not failures, failures
