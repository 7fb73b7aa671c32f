"""Route one action call to a healthy module instance (SPEC §5)."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from typing import Any

import httpx

from flask_core import errors
from flask_core.api import REQUEST_ID_HEADER, dumps
from flask_core.auth import COMMUNITY_HEADER
from flask_core.tokens import SigningKey

from ..registry.live import Registry
from ..registry.models import ActionRoute, InstanceView
from .balancer import Balancer
from .breakers import InstanceBreakers

_CLIENT_ERROR_DETAIL_MAX = 500


class Dispatcher:
    """Picks an instance, asks its breaker, signs a token and makes the call."""

    def __init__(
        self,
        registry: Registry,
        breakers: InstanceBreakers,
        http: httpx.AsyncClient,
        signing_key: SigningKey,
    ) -> None:
        self.registry = registry
        self.breakers = breakers
        self.balancer = Balancer()
        self._http = http
        self._signing_key = signing_key

    async def dispatch(
        self,
        action_id: str,
        community_id: str,
        user_id: str,
        context: dict[str, Any],
        params: dict[str, Any],
        correlation_id: str,
    ) -> dict[str, Any]:
        """Call ``action_id`` and return the SPEC §5 200 body; raise a problem otherwise."""
        route = self.registry.action(action_id)
        if route is None:
            raise errors.NotFound(f"No module declares action {action_id!r}.")
        instance, probe = await self._admit(route)
        started = time.perf_counter()
        body = {
            "action_id": action_id,
            "community_id": community_id,
            "user_id": user_id,
            "context": context,
            "params": params,
        }
        # The token is bound to these exact bytes (body_sha256), so encode once and send them.
        content = dumps(body).encode()
        headers = self._headers(route, community_id, user_id, correlation_id, content)
        result = await self._call(route, instance, probe, content, headers)
        return {
            "success": True,
            "action_id": action_id,
            "result": result,
            "execution_time_ms": round((time.perf_counter() - started) * 1000, 3),
        }

    async def _admit(self, route: ActionRoute) -> tuple[InstanceView, bool]:
        """The instance to call and whether the call is a half-open probe; 503 if none."""
        module = self.registry.module(route.module_id)
        candidates = module.available_instances() if module else []
        if not candidates:
            raise errors.ModuleUnavailable(f"No healthy instance of module {route.module_id}.")
        retry_after = math.inf
        for instance in self.balancer.order(candidates):
            hint = self.breakers.known_open(instance.breaker_name)
            if hint:
                retry_after = min(retry_after, hint)
                continue
            admission = await self.breakers.acquire(instance.breaker_name)
            if admission.allowed:
                return instance, admission.probe
            retry_after = min(retry_after, admission.retry_after)
        raise errors.ModuleUnavailable(
            f"The circuit breaker of every instance of {route.module_id} is open.",
            retry_after=math.ceil(retry_after),
        )

    def _headers(
        self,
        route: ActionRoute,
        community_id: str,
        user_id: str,
        correlation_id: str,
        content: bytes,
    ) -> dict[str, str]:
        token = self._signing_key.issue(
            audience=route.module_id,
            subject=user_id,
            community_id=community_id,
            action_id=route.action_id,
            ttl_seconds=max(30, math.ceil(route.timeout_ms / 1000) + 5),
            body=content,
        )
        return {
            COMMUNITY_HEADER: community_id,
            REQUEST_ID_HEADER: correlation_id,
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        }

    async def _call(
        self,
        route: ActionRoute,
        instance: InstanceView,
        probe: bool,
        content: bytes,
        headers: dict[str, str],
    ) -> Any:
        name = instance.breaker_name
        try:
            with self.balancer.track(name):
                response = await self._http.post(
                    f"{instance.base_url}{route.path}",
                    content=content,
                    headers=headers,
                    timeout=route.timeout_ms / 1000,
                )
        except httpx.TimeoutException as exc:
            await self.breakers.record(name, success=False, probe=probe)
            raise errors.UpstreamTimeout(
                f"Module {route.module_id} did not answer within {route.timeout_ms} ms."
            ) from exc
        except httpx.HTTPError as exc:
            await self.breakers.record(name, success=False, probe=probe)
            raise errors.BadGateway(
                f"Module {route.module_id} could not be reached ({type(exc).__name__})."
            ) from exc
        except asyncio.CancelledError:
            if probe:  # free the half-open slot; an abandoned probe proves nothing good
                await self.breakers.record(name, success=False, probe=True)
            raise
        outcome = _interpret(route, response)
        await self.breakers.record(name, success=outcome.healthy, probe=probe)
        if outcome.error is not None:
            raise outcome.error
        return outcome.result


@dataclass(frozen=True, slots=True)
class _Outcome:
    result: Any = None
    healthy: bool = True  # whether the call counts as a success for the breaker
    error: errors.HTTPError | None = None


def _interpret(route: ActionRoute, response: httpx.Response) -> _Outcome:
    """The module's result, or the problem its answer means (a 4xx is still a healthy answer)."""
    status = response.status_code
    if status >= 500 or status < 200 or 300 <= status < 400:
        return _Outcome(
            healthy=False,
            error=errors.BadGateway(f"Module {route.module_id} answered {status}."),
        )
    if status >= 400:
        return _Outcome(error=errors.UpstreamClientError(status, _module_detail(response)))
    if not response.content:
        return _Outcome(result=None)
    try:
        return _Outcome(result=response.json())
    except ValueError:
        return _Outcome(
            healthy=False,
            error=errors.BadGateway(f"Module {route.module_id} answered invalid JSON."),
        )


def _module_detail(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    detail = (body.get("detail") or body.get("message")) if isinstance(body, dict) else None
    return str(detail)[:_CLIENT_ERROR_DETAIL_MAX] if detail else None
