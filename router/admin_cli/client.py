"""The admin API over HTTP: one place that sends the key and turns problems into errors.

The CLI is a plain HTTP client of the router (it imports nothing of the router's internals), so
it can manage any router it can reach. It is synchronous: one request at a time is all a person
at a terminal needs, and it keeps the commands simple.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import quote

import httpx

API = "/api/v1"
TIMEOUT_SECONDS = 30.0


class AdminError(Exception):
    """Something the admin should read: a problem from the router, or no router at all."""


class ProblemError(AdminError):
    """The router answered with an RFC 9457 problem (or another non-2xx answer)."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Connection:
    """Where the router is and the key to talk to it with."""

    url: str
    key: str


def _problem(response: httpx.Response) -> ProblemError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = str(body.get("error") or body.get("title") or "error")
        detail = str(body.get("detail") or body.get("message") or response.reason_phrase)
        fields = body.get("fields")
        if isinstance(fields, dict) and fields:
            named = "; ".join(
                f"{name}: {', '.join(map(str, msgs))}" for name, msgs in fields.items()
            )
            detail = f"{detail} ({named})"
        return ProblemError(response.status_code, code, detail)
    return ProblemError(response.status_code, "error", response.reason_phrase or "no detail")


def _query(params: Mapping[str, Any] | None) -> dict[str, str]:
    """Only the filters that were given (an empty one would still be a filter)."""
    return {name: str(value) for name, value in (params or {}).items() if value not in (None, "")}


class AdminClient:
    """Calls the admin API with ``X-API-Key``; every non-2xx answer raises ``ProblemError``."""

    def __init__(self, connection: Connection, transport: httpx.BaseTransport | None = None):
        self._http = httpx.Client(
            base_url=connection.url.rstrip("/"),
            headers={"X-API-Key": connection.key, "Accept": "application/json"},
            timeout=TIMEOUT_SECONDS,
            transport=transport,
        )

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """One call; the decoded JSON body, or None for 204."""
        try:
            response = self._http.request(
                method, API + path, params=_query(params), json=body if body is not None else None
            )
        except httpx.TransportError as exc:
            raise AdminError(f"cannot reach {self._http.base_url}: {exc}") from None
        if response.status_code >= 400:
            raise _problem(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body=body if body is not None else {})

    def delete(self, path: str) -> None:
        self.request("DELETE", path)

    def pages(self, path: str, params: Mapping[str, Any], follow: bool) -> Iterator[dict[str, Any]]:
        """Items of a cursor-paged list; every page when ``follow``, else the first one."""
        query = dict(params)
        while True:
            page = self.request("GET", path, params=query)
            yield from page.get("items", [])
            cursor = page.get("next_cursor")
            if not follow or not cursor:
                return
            query["cursor"] = cursor

    def page(self, path: str, params: Mapping[str, Any]) -> tuple[list[Any], str | None]:
        """One page and the cursor of the next one."""
        page = self.request("GET", path, params=params)
        return list(page.get("items", [])), page.get("next_cursor")

    def stream_to(self, path: str, params: Mapping[str, Any], sink: BinaryIO) -> int:
        """Copy a streamed answer (the audit export) to ``sink``; the bytes written."""
        written = 0
        try:
            with self._http.stream("GET", API + path, params=_query(params)) as response:
                if response.status_code >= 400:
                    response.read()
                    raise _problem(response)
                for chunk in response.iter_bytes():
                    sink.write(chunk)
                    written += len(chunk)
        except httpx.TransportError as exc:
            raise AdminError(f"cannot reach {self._http.base_url}: {exc}") from None
        return written


def quoted(segment: str) -> str:
    """A path segment as sent (ids come from people: never let one change the path)."""
    return quote(segment, safe="")
