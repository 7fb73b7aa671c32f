"""Route one call to a healthy module instance: actions (SPEC §5) and the proxy by name (§4).

Both kinds of call take the same path: instance choice, breaker admission, a fresh signed
token, the HTTP call and the breaker's record. They differ only in what they send and in how
the module's answer is read (an action must answer JSON; a proxied answer passes through).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from flask_core import errors, jsonio
from flask_core.api import REQUEST_ID_HEADER
from flask_core.auth import COMMUNITY_HEADER
from flask_core.tokens import SigningKey

from ..registry.live import Registry
from ..registry.models import InstanceView
from .balancer import Balancer
from .breakers import InstanceBreakers

_CLIENT_ERROR_DETAIL_MAX = 500
SERVICE_CLAIM_PREFIX = "service:"  # the token's action_id claim for a proxied call


@dataclass(frozen=True, slots=True)
class Outbound:
    """One request the router sends to a module on a caller's behalf."""

    module_id: str
    method: str
    path: str  # on the instance, starting with "/"
    claim: str  # the token's ``action_id`` claim
    timeout_ms: int
    content: bytes
    community_id: str
    subject: str  # the token's ``sub``: the user, else the calling key
    correlation_id: str
    content_type: str | None = "application/json"
    query: bytes = b""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a module's answer means for the caller and for the breaker."""

    result: Any = None
    healthy: bool = True  # whether the call counts as a success for the breaker
    error: errors.HTTPError | None = None


@dataclass(frozen=True, slots=True)
class ModuleAnswer:
    """A module's answer, read whole: what the readers below interpret."""

    status: int
    headers: Mapping[str, str]  # case-insensitive (aiohttp's CIMultiDictProxy)
    content: bytes


Reader = Callable[[str, ModuleAnswer], Outcome]


class Dispatcher:
    """Picks an instance, asks its breaker, signs a token and makes the call."""

    def __init__(
        self,
        registry: Registry,
        breakers: InstanceBreakers,
        http: aiohttp.ClientSession,
        signing_key: SigningKey,
        *,
        proxy_timeout_ms: int = 5000,
    ) -> None:
        self.registry = registry
        self.breakers = breakers
        self.balancer = Balancer()
        self.proxy_timeout_ms = proxy_timeout_ms
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
        route = self.registry.action(action_id, community_id)
        if route is None:
            raise errors.NotFound(f"No module declares action {action_id!r}.")
        started = time.perf_counter()
        body = {
            "action_id": action_id,
            "community_id": community_id,
            "user_id": user_id,
            "context": context,
            "params": params,
        }
        # Encoded strictly before any breaker is asked: a body that cannot be sent is the
        # caller's 400, never an admitted call without an outcome.
        try:
            content = jsonio.dumpb(body)
        except jsonio.UnserializableJSON as exc:
            raise errors.ValidationError({"params": ["cannot be sent as JSON"]}) from exc
        outbound = Outbound(
            module_id=route.module_id,
            method="POST",
            path=route.path,
            claim=action_id,
            timeout_ms=route.timeout_ms,
            content=content,
            community_id=community_id,
            subject=user_id,
            correlation_id=correlation_id,
        )
        result = await self.send(outbound, read_action_answer)
        return {
            "success": True,
            "action_id": action_id,
            "result": result,
            "execution_time_ms": round((time.perf_counter() - started) * 1000, 3),
        }

    async def send(self, outbound: Outbound, read: Reader) -> Any:
        """Make ``outbound`` on an admitted instance; ``read`` interprets the module's answer."""
        instance, probe = await self._admit(outbound.module_id, outbound.community_id)
        return await self._call(outbound, instance, probe, read)

    async def _admit(self, module_id: str, community: str) -> tuple[InstanceView, bool]:
        """The instance to call and whether the call is a half-open probe; 503 if none.

        Only instances registered for ``community`` are candidates (SPEC §3)."""
        candidates = self.registry.instances_for(module_id, community)
        if not candidates:
            raise errors.ModuleUnavailable(f"No healthy instance of module {module_id}.")
        retry_after = math.inf
        for instance in self.balancer.order(candidates):
            # Answered from the local view when the breaker is known closed or open.
            admission = await self.breakers.acquire(instance.breaker_name)
            if admission.allowed:
                return instance, admission.probe
            retry_after = min(retry_after, admission.retry_after)
        raise errors.ModuleUnavailable(
            f"The circuit breaker of every instance of {module_id} is open.",
            retry_after=math.ceil(retry_after),
        )

    def _headers(self, outbound: Outbound) -> dict[str, str]:
        token = self._signing_key.issue(
            audience=outbound.module_id,
            subject=outbound.subject,
            community_id=outbound.community_id,
            action_id=outbound.claim,
            # As long as the call may take, plus 5 s of clock skew (issue() caps it at 60 s).
            ttl_seconds=math.ceil(outbound.timeout_ms / 1000) + 5,
            body=outbound.content,  # bound to the exact bytes sent (body_sha256)
        )
        headers = {
            COMMUNITY_HEADER: outbound.community_id,
            REQUEST_ID_HEADER: outbound.correlation_id,
            "Authorization": f"Bearer {token}",
        }
        if outbound.content_type:
            headers["Content-Type"] = outbound.content_type
        return headers

    async def _call(
        self, outbound: Outbound, instance: InstanceView, probe: bool, read: Reader
    ) -> Any:
        name, module_id = instance.breaker_name, outbound.module_id
        try:
            with self.balancer.track(name):
                answer = await self._request(outbound, instance)
        except TimeoutError as exc:
            await self.breakers.record(name, success=False, probe=probe)
            raise errors.UpstreamTimeout(
                f"Module {module_id} did not answer within {outbound.timeout_ms} ms."
            ) from exc
        except aiohttp.ClientError as exc:
            await self.breakers.record(name, success=False, probe=probe)
            raise errors.BadGateway(
                f"Module {module_id} could not be reached ({type(exc).__name__})."
            ) from exc
        except asyncio.CancelledError:
            if probe:  # free the half-open slot; an abandoned probe proves nothing good
                await self.breakers.record(name, success=False, probe=True)
            raise
        outcome = read(module_id, answer)
        await self.breakers.record(name, success=outcome.healthy, probe=probe)
        if outcome.error is not None:
            raise outcome.error
        return outcome.result

    async def _request(self, outbound: Outbound, instance: InstanceView) -> ModuleAnswer:
        """Send ``outbound`` to ``instance`` and read the whole answer."""
        async with self._http.request(
            outbound.method,
            module_url(instance.base_url, outbound.path, outbound.query),
            data=outbound.content,
            headers=self._headers(outbound),
            timeout=call_timeout(outbound.timeout_ms),
            allow_redirects=False,
            # A proxied request without a Content-Type goes on without one.
            skip_auto_headers=() if outbound.content_type else ("Content-Type",),
        ) as response:
            content = await response.read()
            return ModuleAnswer(response.status, response.headers, content)


def call_timeout(timeout_ms: int) -> aiohttp.ClientTimeout:
    """The timeout for each phase of the call: getting a pooled or new connection, then each
    wait for the module's bytes (not a deadline for the whole answer, so a module streaming a
    large answer steadily is not cut off)."""
    seconds = timeout_ms / 1000
    return aiohttp.ClientTimeout(
        total=None, connect=seconds, sock_connect=seconds, sock_read=seconds
    )


# What may stay as it is in a query string; anything else (a raw non-ASCII byte, a space) is
# percent-encoded, and existing escapes pass unchanged, so the module reads what the caller sent.
_QUERY_SAFE = "!$%&'()*+,/:;=?@~"


def module_url(base_url: str, path: str, query: bytes = b"") -> URL:
    """``{base_url}{path}?{query}`` with the caller's query string forwarded as sent."""
    url = URL(f"{base_url}{path}")
    if not query:
        return url
    return URL(f"{url}?{quote(query, safe=_QUERY_SAFE)}", encoded=True)


def read_action_answer(module_id: str, response: ModuleAnswer) -> Outcome:
    """The module's JSON result, or the problem its answer means (a 4xx is a healthy answer)."""
    status = response.status
    if status >= 500 or status < 200 or 300 <= status < 400:
        return Outcome(
            healthy=False, error=errors.BadGateway(f"Module {module_id} answered {status}.")
        )
    if status >= 400:
        return Outcome(error=errors.UpstreamClientError(status, _module_detail(response)))
    if not response.content:
        return Outcome(result=None)
    try:
        # Strict: NaN/Infinity, 1e999 or a lone surrogate from a module would otherwise be
        # re-emitted as invalid JSON.
        return Outcome(result=jsonio.loads(response.content))
    except jsonio.InvalidJSON:
        return Outcome(
            healthy=False, error=errors.BadGateway(f"Module {module_id} answered invalid JSON.")
        )


def read_proxied_answer(module_id: str, response: ModuleAnswer) -> Outcome:
    """Any answer below 500 goes back to the caller as it is; a 5xx is the module failing."""
    if response.status >= 500:
        return Outcome(
            healthy=False,
            error=errors.BadGateway(f"Module {module_id} answered {response.status}."),
        )
    return Outcome(result=response)


def _module_detail(response: ModuleAnswer) -> str | None:
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    detail = (body.get("detail") or body.get("message")) if isinstance(body, dict) else None
    return str(detail)[:_CLIENT_ERROR_DETAIL_MAX] if detail else None
