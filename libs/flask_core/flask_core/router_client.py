"""Module → router calls over one pooled httpx client, authenticated with the module's key."""

from __future__ import annotations

from typing import Any

import httpx

from . import jsonio
from .api import REQUEST_ID_HEADER
from .auth import API_KEY_HEADER, COMMUNITY_HEADER
from .datamodels import (
    ActionResult,
    BatchAccepted,
    EventAccepted,
    Lease,
    Registration,
    RegistrationAccepted,
)
from .errors import CoreError
from .logging import correlation_id


class RouterError(CoreError):
    """The router answered with an error; ``status`` and ``problem`` say which."""

    def __init__(self, status: int, problem: Any) -> None:
        self.status = status
        self.problem = problem
        code = problem.get("error") if isinstance(problem, dict) else None
        super().__init__(f"router answered {status} {code or ''}".strip())


class RouterClient:
    """The router's module-facing API: registry, actions, events, responses, resolve, JWKS."""

    def __init__(
        self,
        router_url: str,
        api_key: str,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.router_url = router_url.rstrip("/")
        self._api_key = api_key
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=2.0),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    @property
    def jwks_url(self) -> str:
        return f"{self.router_url}/.well-known/jwks.json"

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    def _headers(self, community_id: str | None) -> dict[str, str]:
        headers = {API_KEY_HEADER: self._api_key}
        if community_id is not None:
            headers[COMMUNITY_HEADER] = community_id
        request_id = correlation_id()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        return headers

    async def _request(
        self,
        method: str,
        path: str,
        *,
        community_id: str | None = None,
        json: Any = None,
        content: bytes | None = None,
        params: dict[str, str] | None = None,
        allow: tuple[int, ...] = (),
    ) -> httpx.Response:
        """One call; ``json`` is encoded strictly (``jsonio``: UnserializableJSON, nothing sent)."""
        headers = self._headers(community_id)
        if json is not None:
            content = jsonio.dumpb(json)
        if content is not None:
            headers["Content-Type"] = "application/json"
        response = await self.http.request(
            method, f"{self.router_url}{path}", content=content, params=params, headers=headers
        )
        if response.is_success or response.status_code in allow:
            return response
        try:
            problem = response.json()
        except ValueError:
            problem = None
        raise RouterError(response.status_code, problem)

    async def register(self, registration: Registration) -> RegistrationAccepted:
        response = await self._request("POST", "/api/v1/register", json=registration)
        body: RegistrationAccepted = response.json()
        return body

    async def heartbeat(self, module_id: str, instance_id: str) -> Lease | None:
        """Renew the lease; None when the router no longer knows the instance (re-register)."""
        path = f"/api/v1/modules/{module_id}/instances/{instance_id}/heartbeat"
        response = await self._request("POST", path, allow=(404,))
        if response.status_code == 404:
            return None
        body: Lease = response.json()
        return body

    async def deregister(self, module_id: str, instance_id: str) -> None:
        path = f"/api/v1/modules/{module_id}/instances/{instance_id}"
        await self._request("DELETE", path, allow=(404,))

    async def action(
        self,
        action_id: str,
        community_id: str,
        user_id: str,
        params: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
    ) -> ActionResult:
        body = {"user_id": user_id, "params": params or {}, "context": context or {}}
        response = await self._request(
            "POST", f"/api/v1/action/{action_id}", community_id=community_id, json=body
        )
        result: ActionResult = response.json()
        return result

    async def events(self, community_id: str, event: dict[str, Any]) -> EventAccepted:
        return await self.post_event(community_id, jsonio.dumpb(event))

    async def post_event(self, community_id: str, body: bytes) -> EventAccepted:
        """``events`` for an event already encoded (the forwarder checks it can be, first)."""
        response = await self._request(
            "POST", "/api/v1/events", community_id=community_id, content=body
        )
        result: EventAccepted = response.json()
        return result

    async def events_batch(self, community_id: str, events: list[dict[str, Any]]) -> BatchAccepted:
        response = await self._request(
            "POST", "/api/v1/events/batch", community_id=community_id, json={"events": events}
        )
        result: BatchAccepted = response.json()
        return result

    async def responses(self, community_id: str, message: dict[str, Any]) -> None:
        await self._request("POST", "/api/v1/responses", community_id=community_id, json=message)

    async def resolve(self, platform: str, channel_id: str) -> str | None:
        """The community of a platform channel, or None when the router knows none."""
        response = await self._request(
            "GET",
            "/api/v1/communities/resolve",
            params={"platform": platform, "channel_id": channel_id},
            allow=(404,),
        )
        if response.status_code == 404:
            return None
        community: str = response.json()["community_id"]
        return community

    async def jwks(self) -> dict[str, Any]:
        response = await self.http.get(self.jwks_url)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body
